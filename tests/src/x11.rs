//! Talking to the test X server the way a window manager would.

use anyhow::{Context, Result};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{AtomEnum, ClientMessageEvent, ConnectionExt, EventMask, Window};

/// Asks the top-level window titled `title` to close by sending it `WM_DELETE_WINDOW`,
/// exactly what a window manager sends when the user clicks the window's close button.
pub fn request_window_close(display: &str, title: &str) -> Result<()> {
    let (conn, screen) = x11rb::connect(Some(display)).context("connect to the X server")?;
    let root = conn.setup().roots[screen].root;
    let atom =
        |name: &str| -> Result<u32> { Ok(conn.intern_atom(false, name.as_bytes())?.reply()?.atom) };
    let net_wm_name = atom("_NET_WM_NAME")?;
    let utf8 = atom("UTF8_STRING")?;
    // GTK may keep more than one X window under the title (the toplevel and helpers); a
    // window manager would deliver the close to the toplevel the user clicked. Without one,
    // every window of that title gets it: sent to a helper only, it was ignored, run after
    // run (the "close not acted on" of the studio e2e).
    let mut windows = Vec::new();
    find_by_title(&conn, root, title, net_wm_name, utf8, &mut windows)?;
    anyhow::ensure!(
        !windows.is_empty(),
        "no window titled {title:?} on {display}"
    );
    let protocols = atom("WM_PROTOCOLS")?;
    let delete = atom("WM_DELETE_WINDOW")?;
    for window in windows {
        let event = ClientMessageEvent::new(
            32,
            window,
            protocols,
            [delete, x11rb::CURRENT_TIME, 0, 0, 0],
        );
        conn.send_event(false, window, EventMask::NO_EVENT, event)?;
    }
    conn.flush()?;
    Ok(())
}

/// Every window under `window` (itself included) titled `title`.
fn find_by_title(
    conn: &impl Connection,
    window: Window,
    title: &str,
    net_wm_name: u32,
    utf8: u32,
    found: &mut Vec<Window>,
) -> Result<()> {
    for (property, kind) in [
        (net_wm_name, utf8),
        (AtomEnum::WM_NAME.into(), AtomEnum::STRING.into()),
    ] {
        let reply = conn
            .get_property(false, window, property, kind, 0, 1024)?
            .reply()?;
        if reply.value == title.as_bytes() {
            found.push(window);
            break;
        }
    }
    let children = conn.query_tree(window)?.reply()?.children;
    for child in children {
        find_by_title(conn, child, title, net_wm_name, utf8, found)?;
    }
    Ok(())
}

/// Maps a window of one colour (`0xRRGGBB`) over the whole screen of `display`. Keep the
/// returned connection while the window should stay: X destroys a client's windows when it
/// leaves.
pub fn show_colour(display: &str, rgb: u32) -> Result<impl Sized> {
    use x11rb::protocol::xproto::{CreateWindowAux, WindowClass};
    let (conn, screen) = x11rb::connect(Some(display)).context("connect to the X server")?;
    let screen = &conn.setup().roots[screen];
    let window = conn.generate_id()?;
    conn.create_window(
        screen.root_depth,
        window,
        screen.root,
        0,
        0,
        screen.width_in_pixels,
        screen.height_in_pixels,
        0,
        WindowClass::INPUT_OUTPUT,
        screen.root_visual,
        &CreateWindowAux::new()
            .background_pixel(rgb)
            .override_redirect(1),
    )?;
    conn.map_window(window)?;
    // A round trip: the server has mapped and painted it before this returns.
    conn.get_input_focus()?.reply()?;
    Ok(conn)
}
