//! [`AnyConsumer`]: a consumer whose delivery is chosen at run time (a CLI flag, a foreign
//! caller), with the API both deliveries can offer safely.

use std::sync::Arc;
use std::time::Duration;

use super::reader::{Fetch, Reader};
use super::view::{Batch, Frame};
use super::{Delivery, Start};
use crate::error::{RecvError, Result};
use crate::region::Shared;

/// A lossless or lossy consumer, chosen at run time.
///
/// Its views are safe whatever the delivery: a frame that may be rewritten while held (every
/// frame of a lossy consumer or of an overwritable ring) is shown as a copy checked whole before
/// it is handed out, a protected one in place, as [`Consumer`](crate::Consumer)'s are.
#[derive(Debug)]
pub struct AnyConsumer {
    pub(crate) reader: Reader,
    delivery: Delivery,
}

impl AnyConsumer {
    pub(crate) fn register(
        shared: Arc<Shared>,
        delivery: Delivery,
        start: Start,
    ) -> Result<AnyConsumer> {
        Ok(AnyConsumer {
            reader: Reader::register(shared, delivery, start)?,
            delivery,
        })
    }

    pub(crate) fn register_named(
        shared: Arc<Shared>,
        name: &str,
        delivery: Delivery,
        grace: Duration,
    ) -> Result<AnyConsumer> {
        Ok(AnyConsumer {
            reader: Reader::register_named(shared, name, delivery, grace)?,
            delivery,
        })
    }

    common_reader_methods!();

    /// For a named consumer taken again ([`Ring::consumer_named`](crate::Ring::consumer_named)):
    /// where the earlier owner's releases left the block (this consumer starts there), and
    /// whether a producer evicted the block meanwhile (then the frames from there on that were
    /// overwritten are counted in [`missed_at_start`](Self::missed_at_start)). `None` for a
    /// consumer whose block is new.
    pub fn resumed(&self) -> Option<(u64, bool)> {
        self.reader.core.resumed.map(|r| (r.read, r.evicted))
    }

    /// From now on, reading a frame moves only this handle's position ([`next_seq`]
    /// (Self::next_seq)); the block's read cursor, which holds producers back and where a later
    /// owner of a named consumer resumes, moves only at [`commit`](Self::commit). For a reader
    /// that hands frames on and may forget them only once the far side has them (a bridge that
    /// commits after an acknowledgement). A lossless reader can then read at most one ring's
    /// worth past its last commit before producers wait.
    pub fn hold_releases(&mut self) {
        self.reader.core.holding = true;
    }

    /// Done with every frame below `upto` (capped at [`next_seq`](Self::next_seq)): moves the
    /// block's read cursor there (see [`hold_releases`](Self::hold_releases)). Returns the
    /// committed position, which never moves back.
    pub fn commit(&mut self, upto: u64) -> u64 {
        self.reader.core.commit(upto)
    }

    /// The block's read cursor as this handle last moved it.
    pub fn committed_seq(&self) -> u64 {
        self.reader.core.committed
    }

    /// The delivery it was registered with.
    pub fn delivery(&self) -> Delivery {
        self.delivery
    }

    checked_view_methods!();
}
