use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub state: String,
    pub waiting_on: String,
    pub vrf_name: String,
    pub route_distinguisher: String,
    pub route_target: String,
    pub rt_scope: String,
    pub rt_value: i64,
    pub step: i64,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub lease_holder: Option<String>,
    pub lease_until_ms: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// `links::sla::SlaSettings` as JSON.
    #[sea_orm(column_type = "Text")]
    pub sla: String,
    /// `links::sla::Breach` as JSON while the SLA is breached.
    #[sea_orm(column_type = "Text", nullable)]
    pub sla_breach: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
