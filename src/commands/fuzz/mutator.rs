//! The inputs a fuzz run feeds a decoder: random bytes, or valid examples changed by one to eight
//! mutations: bit flips, byte edits, truncation, duplicated chunks, and tokens that break parsers
//! (quotes, brackets, deep nesting, huge and non-finite numbers, huge CDR lengths).

use rand::seq::SliceRandom;
use rand::{Rng, RngCore};
use rand_chacha::ChaCha8Rng;

/// Tokens spliced into inputs: TOML and JSON syntax, numbers at and beyond the limits of the
/// types they land in, and little-endian CDR lengths (`u32::MAX`, `i32::MAX`, zero).
const TOKENS: &[&[u8]] = &[
    b"\"",
    b"'",
    b"\\",
    b"[",
    b"]",
    b"{",
    b"}",
    b"[[",
    b"]]",
    b",",
    b":",
    b"=",
    b"\n",
    b"#",
    b"\"\"\"",
    b"null",
    b"true",
    b"-0",
    b"0",
    b"-1",
    b"1e308",
    b"1e400",
    b"-1e400",
    b"nan",
    b"inf",
    b"NaN",
    b"18446744073709551615",
    b"18446744073709551616",
    b"9223372036854775808",
    b"-9223372036854775809",
    b"4294967296",
    b"0.1e-400",
    b"\"\\u0000\"",
    b"\"\\ud800\"",
    b"\xff\xff\xff\xff",
    b"\xff\xff\xff\x7f",
    b"\x00\x00\x00\x00",
    b"\x00\x00\x00\x80",
];

/// The next input made from `examples`: one in 16 is up to 1 KiB of random bytes, one in 64 is
/// an example nested in 2 000 brackets, the rest are an example with one to eight mutations.
pub fn input(rng: &mut ChaCha8Rng, examples: &[Vec<u8>]) -> Vec<u8> {
    let example = examples.choose(rng).expect("a target has examples");
    match rng.gen_range(0..64) {
        0..4 => {
            let mut bytes = vec![0; rng.gen_range(0..1024)];
            rng.fill_bytes(&mut bytes);
            bytes
        }
        4 => nested(rng, example),
        _ => {
            // Half the inputs are one mutation away from valid: they reach deepest.
            let count = if rng.r#gen() { 1 } else { rng.gen_range(2..=8) };
            let mut bytes = example.clone();
            mutate(rng, &mut bytes, count);
            bytes
        }
    }
}

/// `example` with 2 000 brackets (or braces) opened at a random place: parsers that recurse
/// without a limit overflow their stack.
fn nested(rng: &mut ChaCha8Rng, example: &[u8]) -> Vec<u8> {
    let at = rng.gen_range(0..=example.len());
    let open: &[u8] = if rng.r#gen() { b"[" } else { b"{\"a\":" };
    let mut bytes = example[..at].to_vec();
    for _ in 0..2000 {
        bytes.extend_from_slice(open);
    }
    bytes.extend_from_slice(&example[at..]);
    bytes
}

/// Applies `count` mutations to `bytes`: a bit flip, a byte removed, inserted or the rest cut
/// off, a chunk duplicated, a token inserted or written over what was there.
pub fn mutate(rng: &mut ChaCha8Rng, bytes: &mut Vec<u8>, count: usize) {
    for _ in 0..count {
        if bytes.is_empty() {
            bytes.push(rng.r#gen());
            continue;
        }
        let at = rng.gen_range(0..bytes.len());
        match rng.gen_range(0..7) {
            0 => bytes[at] ^= 1 << rng.gen_range(0..8),
            1 => {
                bytes.remove(at);
            }
            2 => bytes.insert(at, rng.r#gen()),
            3 => bytes.truncate(at),
            4 => {
                let len = rng.gen_range(1..=64).min(bytes.len() - at);
                let chunk = bytes[at..at + len].to_vec();
                let to = rng.gen_range(0..=bytes.len());
                bytes.splice(to..to, chunk);
            }
            5 => {
                let token = TOKENS.choose(rng).expect("tokens");
                bytes.splice(at..at, token.iter().copied());
            }
            _ => {
                // A digit run or a CDR length becomes something else.
                let token = TOKENS.choose(rng).expect("tokens");
                let end = (at + token.len()).min(bytes.len());
                bytes.splice(at..end, token.iter().copied());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn the_same_seed_makes_the_same_inputs_and_mutations_change_the_example() {
        let examples = vec![b"{\"v\":2,\"type\":\"Plan\"}".to_vec()];
        let run = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            (0..200).map(|_| input(&mut rng, &examples)).collect::<Vec<_>>()
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
        let changed = run(3).iter().filter(|input| **input != examples[0]).count();
        // A bit flip and its undoing, or a truncation at the end, can leave the example whole.
        assert!(changed >= 190, "{changed} of 200 inputs differ from the example");
    }
}
