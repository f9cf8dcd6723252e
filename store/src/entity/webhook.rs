use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub url: String,
    pub description: Option<String>,
    /// Sealed with the secret key (`SecretBox`); never leaves the store open
    /// except to sign a delivery.
    #[sea_orm(column_type = "Text")]
    pub secret: String,
    pub event_cursor: i64,
    pub event_attempts: i32,
    pub consecutive_failures: i32,
    pub next_attempt_at_ms: i64,
    pub leased_by: Option<String>,
    pub leased_until_ms: Option<i64>,
    pub created_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
