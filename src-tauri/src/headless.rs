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
fn stop_on_signal(stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(anchordesk_relay::shutdown_signal());
        stop.store(true, Ordering::Relaxed);
    });
}
