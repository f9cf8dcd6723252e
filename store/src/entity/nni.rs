use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "nnis")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub csp: String,
    pub location_code: String,
    pub name: String,
    pub region: String,
    pub csp_ref: String,
    pub port_id: Uuid,
    pub linknet_pool_id: Uuid,
    pub csp_asn: i64,
    pub capacity_mbps: i32,
    #[sea_orm(column_type = "Text")]
    pub attributes: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
