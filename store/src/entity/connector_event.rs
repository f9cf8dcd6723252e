use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "connector_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub connector_id: Uuid,
    pub step: i64,
    pub event: String,
    pub from_state: Option<String>,
    pub to_state: String,
    #[sea_orm(column_type = "Text")]
    pub message: String,
    pub actor: String,
    pub at: DateTimeUtc,
    /// Set on a row about a link of the connector (its SLA).
    pub link_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
