// TSO-like 64-bit allocator, as Milvus's: (physical milliseconds << 18) | logical. Every
// collection, partition, segment, log, index, import-task ID and every timestamp comes from
// one monotonic sequence, so all of them are above 2^53 (about 4.6e17 in 2025) and must be
// handled as BigInt / decimal strings -- never as JS numbers.
'use strict';

const LOGICAL_BITS = 18n;

class Allocator {
  constructor(start) {
    this.last = start ? BigInt(start) : 0n;
  }

  // Returns the first of n consecutive IDs, as BigInt.
  allocBig(n = 1) {
    const now = BigInt(Date.now()) << LOGICAL_BITS;
    const first = now > this.last ? now : this.last + 1n;
    this.last = first + BigInt(n) - 1n;
    return first;
  }

  // One ID as a decimal string (the form used everywhere in the stand-in).
  alloc() {
    return this.allocBig(1).toString();
  }
}

// Physical milliseconds of a TSO.
function tsoPhysicalMs(ts) {
  return Number(BigInt(ts) >> LOGICAL_BITS);
}

module.exports = { Allocator, tsoPhysicalMs };
