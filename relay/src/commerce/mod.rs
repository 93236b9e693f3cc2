//! What turns a stream into a sale: products, lives and their 小黄车, pins (讲解).
//! Functions here validate input, change the store in one transaction, append the events
//! that describe the change, and return what happened; publishing is the caller's job
//! after commit (see [`crate::events`]).

pub mod coupons;
pub mod flash_sales;
pub mod images;
pub mod lives;
pub mod lotteries;
pub mod orders;
pub mod payments;
pub mod pin_rules;
pub mod products;
pub mod stats;

use crate::events::Event;

/// A change and the events that describe it, to publish after its transaction commits.
#[derive(Debug)]
pub struct Changed<T> {
    pub value: T,
    pub events: Vec<Event>,
}
