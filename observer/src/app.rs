//! The viewer's loop: a thread fetches a snapshot every interval, the main
//! thread draws and reads keys; and the one-shot modes (`--once`).

use crate::client::{Client, ClientError};
use crate::model::{Model, SortKey};
use crate::ui::{self, Screen, View};
use ember_runtime::{Pid, Snapshot};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind};
use ratatui::Terminal;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How `ember-top` runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// The node's observer address.
    pub addr: String,
    /// Time between snapshots.
    pub interval: Duration,
    /// Allow kills (the node must allow them too).
    pub write: bool,
}

/// The default time between snapshots: at most one a second.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

/// The shortest interval accepted (the node pays for every snapshot).
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// Renders one frame of the viewer into text, `width` × `height` cells:
/// what `ember-top --once` prints, and what tests look at.
///
/// ```
/// use ember_observer::{app, ui, Model};
/// let text = app::render_text(&Model::new(), &ui::Screen::new("unix:/tmp/x.sock".into()), 80, 12);
/// assert!(text.contains("waiting for the first snapshot"));
/// ```
pub fn render_text(model: &Model, screen: &Screen, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test backend never fails");
    terminal.draw(|frame| ui::draw(frame, model, screen)).expect("a test backend never fails");
    let buffer = terminal.backend().buffer();
    let mut text = String::new();
    for y in 0..buffer.area.height {
        let line: String = (0..buffer.area.width).map(|x| buffer[(x, y)].symbol()).collect();
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// One snapshot of the node at `addr`.
pub fn fetch_once(addr: &str) -> Result<Snapshot, ClientError> {
    Client::connect(addr)?.snapshot()
}

/// Runs the interactive viewer until the user quits.
pub fn run(options: Options) -> Result<(), Box<dyn std::error::Error>> {
    let mut client = Client::connect(&options.addr)?;
    let node_writable = client.writable()?;
    let (tx, rx) = mpsc::channel();
    let interval = options.interval.max(MIN_INTERVAL);
    std::thread::spawn(move || fetch_loop(client, interval, tx));
    let mut terminal = ratatui::init();
    let result = event_loop(&mut terminal, &options, node_writable, rx);
    ratatui::restore();
    result
}

fn fetch_loop(mut client: Client, interval: Duration, tx: mpsc::Sender<Result<Snapshot, String>>) {
    loop {
        let started = Instant::now();
        let result = client.snapshot().map_err(|e| e.to_string());
        let failed = result.is_err();
        if tx.send(result).is_err() {
            return; // the viewer quit
        }
        std::thread::sleep(interval.saturating_sub(started.elapsed()));
        if failed {
            match Client::connect(&client.addr().to_string()) {
                Ok(c) => client = c,
                Err(_) => continue,
            }
        }
    }
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    options: &Options,
    node_writable: bool,
    rx: mpsc::Receiver<Result<Snapshot, String>>,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut model = Model::new();
    let mut screen = Screen::new(options.addr.clone());
    screen.writable = options.write && node_writable;
    if options.write && !node_writable {
        screen.status = "the node's observer is read-only: kills are off".into();
    }
    loop {
        while let Ok(update) = rx.try_recv() {
            match update {
                Ok(snapshot) => {
                    model.update(snapshot);
                    if screen.selected.is_none_or(|pid| model.process(pid).is_none()) {
                        screen.selected = ui::view_order(&model, screen.view).first().copied();
                    }
                }
                Err(e) => screen.status = format!("cannot reach the node: {e}"),
            }
        }
        terminal.draw(|frame| ui::draw(frame, &model, &screen))?;
        if !event::poll(Duration::from_millis(100))? {
            continue;
        }
        let Event::Key(key) = event::read()? else { continue };
        if key.kind != KeyEventKind::Press {
            continue;
        }
        if let Some(pid) = screen.confirm_kill.take() {
            if key.code == KeyCode::Char('y') {
                screen.status = kill(&options.addr, pid);
            } else {
                screen.status = "kill cancelled".into();
            }
            continue;
        }
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => return Ok(()),
            KeyCode::Tab => {
                screen.view = match screen.view {
                    View::Processes => View::Tree,
                    View::Tree => View::Processes,
                }
            }
            KeyCode::Up | KeyCode::Char('k') => move_selection(&model, &mut screen, -1),
            KeyCode::Down | KeyCode::Char('j') => move_selection(&model, &mut screen, 1),
            KeyCode::PageUp => move_selection(&model, &mut screen, -10),
            KeyCode::PageDown => move_selection(&model, &mut screen, 10),
            KeyCode::Char('r') => model.set_sort(SortKey::Reductions),
            KeyCode::Char('m') => model.set_sort(SortKey::Mailbox),
            KeyCode::Char('M') => model.set_sort(SortKey::Memory),
            KeyCode::Char('l') => model.set_sort(SortKey::Label),
            KeyCode::Char('d') => screen.detail = !screen.detail,
            KeyCode::Enter | KeyCode::Char(' ') => match (screen.view, screen.selected) {
                (View::Tree, Some(pid)) => model.toggle_collapsed(pid),
                _ => screen.detail = !screen.detail,
            },
            KeyCode::Char('x') => match (screen.writable, screen.selected) {
                (true, Some(pid)) => screen.confirm_kill = Some(pid),
                (false, _) => {
                    screen.status = "read-only: start ember-top with --write, and the node's observer \
                                               with Access::ReadWrite, to kill"
                        .into()
                }
                _ => {}
            },
            _ => {}
        }
    }
}

fn move_selection(model: &Model, screen: &mut Screen, by: isize) {
    let order = ui::view_order(model, screen.view);
    if order.is_empty() {
        return;
    }
    let at = screen.selected.and_then(|pid| order.iter().position(|p| *p == pid)).unwrap_or(0);
    let next = (at as isize + by).clamp(0, order.len() as isize - 1) as usize;
    screen.selected = Some(order[next]);
}

fn kill(addr: &str, pid: Pid) -> String {
    match Client::connect(addr).and_then(|mut c| c.kill(pid)) {
        Ok(true) => format!("killed {pid}"),
        Ok(false) => format!("{pid} was already gone"),
        Err(e) => format!("could not kill {pid}: {e}"),
    }
}
