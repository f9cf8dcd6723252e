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
    /// [`crate::model::ConnectorOptions`] as JSON.
    #[sea_orm(column_type = "Text")]
    pub options: String,
    /// [`crate::model::PendingChange`] as JSON while a settings change is
    /// on its way to the PEs.
    #[sea_orm(column_type = "Text", nullable)]
    pub pending_change: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The connector's kind; a name onramp does not know is a corrupt row.
    pub fn connector_kind(&self) -> Result<onramp_state_machines::ConnectorKind, crate::Error> {
        self.kind
            .parse()
            .map_err(|e| crate::Error::Corrupt(format!("connector {}: {e}", self.id)))
    }

    /// The connector's machine state, as kind `M` stores it.
    pub fn machine_state<M: onramp_state_machines::Machine>(
        &self,
    ) -> Result<M::State, crate::Error> {
        onramp_state_machines::kind::restore::<M>(&self.machine_state)
            .map_err(|e| crate::Error::Corrupt(format!("machine state of {}: {e}", self.id)))
    }
}
