use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Several NNIs of one CSP at one location form a group (issue 18):
        // an order goes to the first whose PE is not in maintenance. What
        // must stay unique is the CSP's own object: one interconnect (or
        // port, or Partner Interconnect) is one NNI.
        m.drop_index(
            Index::drop()
                .name("uq_nnis_csp_location_code")
                .table("nnis")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_nnis_csp_csp_ref")
                .table("nnis")
                .col("csp")
                .col("csp_ref")
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_nnis_csp_location_code")
                .table("nnis")
                .col("csp")
                .col("location_code")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for name in ["ix_nnis_csp_location_code", "uq_nnis_csp_csp_ref"] {
            m.drop_index(Index::drop().name(name).table("nnis").to_owned())
                .await?;
        }
        m.create_index(
            Index::create()
                .name("uq_nnis_csp_location_code")
                .table("nnis")
                .col("csp")
                .col("location_code")
                .unique()
                .to_owned(),
        )
        .await
    }
}
