use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "connectors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub kind: String,
    pub state: String,
    #[sea_orm(column_type = "Text")]
    pub machine_state: String,
    pub waiting_on: String,
    pub nni_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub params: String,
    #[sea_orm(column_type = "Text")]
    pub resources: String,
    pub csp_ref: Option<String>,
    pub step: i64,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub lease_until_ms: Option<i64>,
    pub lease_holder: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
