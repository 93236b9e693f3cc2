//! `anchordesk live --headless`: the engine without a window.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anchordesk_pipelines::smoke::{TestEncodeSpec, run_test_encode};

use crate::cli::LiveArgs;

pub fn run(args: &LiveArgs) -> ExitCode {
    if !args.headless {
        eprintln!(
            "anchordesk live: the windowed live mode is the studio (run `anchordesk`); \
             add --headless to run the engine without a window"
        );
        return ExitCode::from(2);
    }
    let stop = Arc::new(AtomicBool::new(false));
    stop_on_signal(stop.clone());
    let spec = TestEncodeSpec {
        duration: args.duration,
        ..TestEncodeSpec::default()
    };
    match run_test_encode(&spec, &stop) {
        Ok(summary) => {
            println!("anchordesk live: {summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("anchordesk live: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Ctrl-C or SIGTERM ends the run gracefully (drained, summary printed) instead of killing it.
/// The handlers are registered before this returns, so no early signal is lost.
fn stop_on_signal(stop: Arc<AtomicBool>) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("anchordesk live: warning: signals not handled: {e}");
            return;
        }
    };
    let signal = {
        let _runtime = rt.enter();
        anchordesk_relay::shutdown_signal()
    };
    std::thread::spawn(move || {
        rt.block_on(signal);
        stop.store(true, Ordering::Relaxed);
    });
}
