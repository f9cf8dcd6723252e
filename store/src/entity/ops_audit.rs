use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ops_audit")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub task_id: Option<Uuid>,
    pub connector_id: Uuid,
    pub actor: String,
    pub action: String,
    #[sea_orm(column_type = "Text")]
    pub detail: String,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
