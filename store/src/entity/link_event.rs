use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "link_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub link_id: Uuid,
    pub step: i64,
    pub event: String,
    pub connector_id: Option<Uuid>,
    pub state: String,
    #[sea_orm(column_type = "Text")]
    pub message: String,
    pub actor: String,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
