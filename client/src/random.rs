//! A cheap seeded random source: the load engine's templates (`${random(..)}`) and the contract
//! generator draw from it, so a seed replays the same values.

/// xorshift64*: advances `state` and returns the next value (not cryptographic; test data only).
pub fn next_random(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    x.wrapping_mul(0x2545_F491_4F6C_DD1D)
}
