//! `telemetry`: game-style events (tick, entity id, position, velocity, flags) at a configurable
//! rate, with bursts.

use std::time::Duration;

use bytemuck::{Pod, Zeroable};

use super::Source;

/// Version of [`TelemetryEvent`]'s layout, written in the ring header.
pub const TELEMETRY_SCHEMA_VERSION: u32 = 1;

/// One telemetry event: the payload of one frame (40 bytes, native byte order).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable, serde::Serialize)]
pub struct TelemetryEvent {
    /// Simulation tick.
    pub tick: u64,
    /// Entity id.
    pub entity: u32,
    /// Game-defined flags.
    pub flags: u32,
    /// Position.
    pub position: [f32; 3],
    /// Velocity.
    pub velocity: [f32; 3],
}

/// Events at `rate` per second; every `burst_every` events, `burst_len` more come at once.
#[derive(Debug, Clone)]
pub struct TelemetrySource {
    tick: u64,
    period: Duration,
    burst_every: u64,
    burst_len: u64,
    entities: u32,
}

impl TelemetrySource {
    /// `rate` events per second over `entities` entities, with a burst of 8 every 100 events.
    pub fn new(rate: f64, entities: u32) -> Self {
        TelemetrySource {
            tick: 0,
            period: Duration::from_secs_f64(1.0 / rate.max(1e-3)),
            burst_every: 100,
            burst_len: 8,
            entities: entities.max(1),
        }
    }

    /// The event of tick `tick`: a pure function, so readers can check it.
    pub fn event(tick: u64, entities: u32) -> TelemetryEvent {
        let t = tick as f32 * 0.01;
        TelemetryEvent {
            tick,
            entity: (tick % u64::from(entities.max(1))) as u32,
            flags: (tick & 0xf) as u32,
            position: [t.cos() * 10.0, t.sin() * 10.0, 0.0],
            velocity: [-t.sin(), t.cos(), 0.0],
        }
    }
}

impl Source for TelemetrySource {
    fn next_frame(&mut self, buf: &mut [u8]) -> Option<usize> {
        let event = Self::event(self.tick, self.entities);
        let bytes = bytemuck::bytes_of(&event);
        if buf.len() < bytes.len() {
            return None;
        }
        buf[..bytes.len()].copy_from_slice(bytes);
        self.tick += 1;
        Some(bytes.len())
    }

    fn period(&self) -> Option<Duration> {
        // Inside a burst the next event follows at once.
        let in_burst = self.tick % (self.burst_every + self.burst_len) >= self.burst_every;
        Some(if in_burst {
            Duration::ZERO
        } else {
            self.period
        })
    }

    fn kind(&self) -> u16 {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_forty_bytes_and_come_in_bursts() {
        assert_eq!(std::mem::size_of::<TelemetryEvent>(), 40);
        let mut s = TelemetrySource::new(1000.0, 4);
        let mut buf = [0u8; 64];
        let mut zero = 0;
        for _ in 0..216 {
            if s.period() == Some(Duration::ZERO) {
                zero += 1;
            }
            assert_eq!(s.next_frame(&mut buf), Some(40));
        }
        assert_eq!(zero, 16, "two bursts of 8 in 216 events");
        let e: TelemetryEvent = bytemuck::pod_read_unaligned(&buf[..40]);
        assert_eq!(e, TelemetrySource::event(215, 4));
    }
}
