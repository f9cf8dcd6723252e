use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pe_routers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub name: String,
    pub host: String,
    pub port: i32,
    pub username: String,
    pub password: String,
    pub host_key_fingerprint: Option<String>,
    pub platform: String,
    pub lease_until_ms: Option<i64>,
    pub lease_holder: Option<String>,
    pub created_at: DateTimeUtc,
    /// Set while the PE is in maintenance: its writer holds its queue.
    pub maintenance_since: Option<DateTimeUtc>,
    /// The operator's reason; never shown to customers.
    pub maintenance_reason: Option<String>,
    /// `host:port` of the PE's SNMP agent (UDP); None: not monitored.
    pub snmp_target: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
