//! `virDomain…`, async.

pub use crate::domain_event::DomainEventKind;

/// A domain event, with the async domain handle.
pub type DomainEvent = crate::domain_event::DomainEvent<Domain>;

crate::domain::domain_struct!(super::connect::Connect;
    /// An async domain handle (`virDomainPtr`): the methods of [`crate::domain::Domain`], as
    /// `async fn` where they call the daemon.
);

/// One domain's statistics (`virDomainStatsRecord`), on the async connection.
#[derive(Debug)]
pub struct DomainStatsRecord {
    /// The domain.
    pub domain: Domain,
    /// Its statistics.
    pub params: crate::typedparams::TypedParams,
}
