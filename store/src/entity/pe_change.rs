use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pe_changes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub pe_id: Uuid,
    pub connector_id: Uuid,
    pub step: i64,
    pub op: String,
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    pub status: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
    pub created_at: DateTimeUtc,
    pub done_at: Option<DateTimeUtc>,
    /// How often the router refused it and it was put back.
    pub attempts: i32,
    /// Not to be taken again before this (epoch ms), after a refusal.
    pub retry_at_ms: Option<i64>,
    /// The API request whose work queued the change (`x-request-id`).
    pub request_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
