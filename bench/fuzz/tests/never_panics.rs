//! The relay answers hostile JSON bodies, payment callbacks and SDP offers without a panic or
//! a 5xx; `fuzz-inputs` (make bench) runs the same inputs for minutes.

use anchordesk_bench_fuzz::Target;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;

#[test]
fn no_hostile_input_panics_the_relay() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let target = runtime.block_on(Target::open()).unwrap();
    let strategy = target.inputs();
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 400,
        ..ProptestConfig::default()
    });
    runner
        .run(&strategy, |input| {
            let outcome = runtime.block_on(target.run(&input));
            prop_assert!(!outcome.is_failure(), "{outcome:?}");
            Ok(())
        })
        .unwrap();
    runtime.block_on(target.flush());
}
