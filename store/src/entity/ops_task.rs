use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ops_tasks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub connector_id: Uuid,
    pub tenant_id: Uuid,
    pub provider: String,
    pub step_index: i32,
    pub step_key: String,
    pub title: String,
    pub state: String,
    pub claimed_by: Option<String>,
    pub claimed_at: Option<DateTimeUtc>,
    pub due_at: DateTimeUtc,
    #[sea_orm(column_type = "Text", nullable)]
    pub values: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub reject_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub closed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
