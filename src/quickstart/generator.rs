//! A stream of realistic stock trades as JSON messages of the
//! `stock_transactions` schema (`id`, `user_id`, `symbol`, `shares`,
//! `purchase`, `update_at`): Zipf-skewed symbols and users, as real trading
//! is (a few symbols and traders make most trades), sequential ids, and the
//! current time.

use std::fmt::Write;

/// Symbols traded (`S0000` .. `S0499`).
pub const SYMBOLS: usize = 500;
/// Distinct traders.
pub const USERS: usize = 100_000;

/// Draws ranks 0..n with probability ∝ 1 / (rank + 1)^s.
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Zipf {
        let mut cdf = Vec::with_capacity(n);
        let mut total = 0.0;
        for rank in 0..n {
            total += 1.0 / ((rank + 1) as f64).powf(s);
            cdf.push(total);
        }
        for value in &mut cdf {
            *value /= total;
        }
        Zipf { cdf }
    }

    fn sample(&self, uniform: f64) -> usize {
        self.cdf
            .partition_point(|&p| p < uniform)
            .min(self.cdf.len() - 1)
    }
}

/// Generates trade messages.
pub struct TradeGenerator {
    state: u64,
    next_id: i64,
    symbols: Zipf,
    users: Zipf,
    buffer: String,
}

impl TradeGenerator {
    /// A generator whose ids start at `first_id`; `seed` fixes the sequence.
    pub fn new(seed: u64, first_id: i64) -> TradeGenerator {
        TradeGenerator {
            state: seed | 1,
            next_id: first_id,
            symbols: Zipf::new(SYMBOLS, 1.1),
            users: Zipf::new(USERS, 1.05),
            buffer: String::with_capacity(160),
        }
    }

    fn next_u64(&mut self) -> u64 {
        // xorshift64*
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The id the next message will carry.
    pub fn next_id(&self) -> i64 {
        self.next_id
    }

    /// The next trade at time `now_millis`, as a JSON object.
    pub fn next(&mut self, now_millis: i64) -> &str {
        let id = self.next_id;
        self.next_id += 1;
        let uniform = self.uniform();
        let symbol = self.symbols.sample(uniform);
        let uniform = self.uniform();
        let user = self.users.sample(uniform) + 1;
        let shares = 1 + (self.next_u64() % 500) as i64;
        // Prices differ by symbol and drift a little per trade.
        let base = 10.0 + (symbol as f64 * 7.919) % 490.0;
        let price = base * (0.95 + 0.1 * self.uniform());
        let purchase = (price * shares as f64 * 100.0).round() / 100.0;
        self.buffer.clear();
        let _ = write!(
            self.buffer,
            r#"{{"id":{id},"user_id":{user},"symbol":"S{symbol:04}","shares":{shares},"purchase":{purchase},"update_at":{now_millis}}}"#
        );
        &self.buffer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_valid_and_skewed() {
        let mut generator = TradeGenerator::new(7, 100);
        let mut top = 0;
        for i in 0..10_000 {
            let message: serde_json::Value =
                serde_json::from_str(generator.next(1_700_000_000_000)).unwrap();
            assert_eq!(message["id"], 100 + i);
            assert!(message["purchase"].as_f64().unwrap() > 0.0);
            if message["symbol"] == "S0000" {
                top += 1;
            }
        }
        // The most traded symbol takes far more than 1/500 of the trades.
        assert!(top > 500, "{top}");
        assert_eq!(generator.next_id(), 10_100);
    }
}
