use sea_orm::entity::prelude::*;

/// One batch a PE writer pushed in one commit.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pe_commits")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub pe_id: Uuid,
    pub writer: String,
    pub changes: i32,
    pub attachments_before: i32,
    pub push_ms: i64,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
