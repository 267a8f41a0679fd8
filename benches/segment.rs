//! Micro-benchmarks of the segment encodings: scanning bit-packed dictionary
//! ids (the inner loop of filters and group-bys) against a plain `u32` loop,
//! random access, and frame-of-reference decoding.
//!
//! Run: `cargo bench --bench segment`. Figures go in BENCHMARKS.md.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use gamay::codec::bitpack;
use gamay::codec::forpack::{self, ForPacked};

const N: usize = 10_000_000;

/// Deterministic ids below `2^bits` (a xorshift sequence).
fn ids(bits: u32) -> Vec<u32> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..N)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state as u32) & ((1u32 << bits) - 1)
        })
        .collect()
}

fn scan(c: &mut Criterion) {
    let mut group = c.benchmark_group("scan");
    group.throughput(Throughput::Elements(N as u64));
    group.sample_size(20);
    let plain = ids(13);
    group.bench_function("plain u32, count id == 7", |b| {
        b.iter(|| black_box(&plain).iter().filter(|&&id| id == 7).count())
    });
    for bits in [4u32, 13, 18] {
        let values = ids(bits);
        let words = bitpack::pack(&values, bits);
        group.bench_function(format!("bit-packed {bits} bits, count id == 7"), |b| {
            b.iter(|| {
                let mut count = 0usize;
                bitpack::for_each_chunk(black_box(&words), bits, N, |_, chunk| {
                    count += chunk.iter().filter(|&&id| id == 7).count();
                });
                count
            })
        });
        group.bench_function(format!("bit-packed {bits} bits, sum of ids"), |b| {
            b.iter(|| {
                let mut sum = 0u64;
                bitpack::for_each_chunk(black_box(&words), bits, N, |_, chunk| {
                    sum += chunk.iter().map(|&id| id as u64).sum::<u64>();
                });
                sum
            })
        });
    }
    group.finish();
}

fn random_access(c: &mut Criterion) {
    let values = ids(18);
    let words = bitpack::pack(&values, 18);
    let mut group = c.benchmark_group("random access");
    group.throughput(Throughput::Elements(1_000_000));
    group.bench_function("bit-packed 18 bits, 1M gets", |b| {
        b.iter(|| {
            let mut sum = 0u64;
            let mut index = 12345usize;
            for _ in 0..1_000_000 {
                index = (index * 7919 + 17) % N;
                sum += bitpack::get(black_box(&words), 18, index) as u64;
            }
            sum
        })
    });
    group.finish();
}

fn frame_of_reference(c: &mut Criterion) {
    let keys: Vec<u64> = (0..N as i64)
        .map(|i| forpack::key_i64(1_780_000_000_000 + i * 518))
        .collect();
    let bytes = forpack::encode(&keys);
    // The block needs 8-byte alignment, as in a mapped segment file.
    let aligned: Vec<u64> = bytes
        .chunks(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let packed = ForPacked::parse(bytemuck::cast_slice(&aligned), N).unwrap();
    println!(
        "frame-of-reference: {} sorted timestamps in {} bytes ({:.2} bits each)",
        N,
        bytes.len(),
        bytes.len() as f64 * 8.0 / N as f64
    );
    let mut group = c.benchmark_group("frame of reference");
    group.throughput(Throughput::Elements(N as u64));
    group.sample_size(20);
    group.bench_function("decode sorted timestamps", |b| {
        b.iter(|| {
            let mut max = 0u64;
            packed.for_each_block(|_, block| max = max.max(block[block.len() - 1]));
            max
        })
    });
    group.finish();
}

criterion_group!(benches, scan, random_access, frame_of_reference);
criterion_main!(benches);
