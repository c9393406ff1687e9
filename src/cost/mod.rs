//! What a stack costs a month: the price table shipped with gwfargate (or the user's), and
//! the estimate of the built design beside the original design's alternatives. Reads
//! nothing from AWS.

pub mod estimate;
pub mod live;
pub mod prices;
