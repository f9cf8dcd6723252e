use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ops_task_notes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub task_id: Uuid,
    pub author: String,
    #[sea_orm(column_type = "Text")]
    pub text: String,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
