//! Drawing the viewer with ratatui: a header, each worker's utilisation as
//! a sparkline, the process table or the supervision tree, the detail pane
//! of the selected process, and the kill confirmation.

use crate::model::{name_of, Model};
use ember_runtime::{Pid, Status};
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, Borders, Cell, Clear, List, ListItem, ListState, Paragraph, Row, Sparkline, Table, TableState,
};
use ratatui::Frame;

/// Which main view is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// The top processes.
    Processes,
    /// The supervision tree.
    Tree,
}

/// Everything a frame shows besides the model.
#[derive(Clone, Debug)]
pub struct Screen {
    /// The main view.
    pub view: View,
    /// The selected process, if any.
    pub selected: Option<Pid>,
    /// Show the detail pane of the selected process.
    pub detail: bool,
    /// Asking to confirm killing this process.
    pub confirm_kill: Option<Pid>,
    /// Where the node is, for the header.
    pub addr: String,
    /// Kills are allowed (by the node and by the viewer's `--write`).
    pub writable: bool,
    /// A line of news: an error, the outcome of a kill.
    pub status: String,
}

impl Screen {
    /// A screen for `addr`, on the process table.
    pub fn new(addr: String) -> Self {
        Screen {
            view: View::Processes,
            selected: None,
            detail: false,
            confirm_kill: None,
            addr,
            writable: false,
            status: String::new(),
        }
    }
}

fn status_name(s: Status) -> &'static str {
    match s {
        Status::Running => "running",
        Status::Runnable => "runnable",
        Status::Waiting => "waiting",
        Status::Hibernating => "hibernating",
        Status::Exiting => "exiting",
    }
}

/// Bytes, short.
pub fn human_bytes(n: usize) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1}G", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1}M", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1}K", n as f64 / 1024.0),
        n => format!("{n}B"),
    }
}

/// The pids in the current view's order (what the selection moves over).
pub fn view_order(model: &Model, view: View) -> Vec<Pid> {
    match view {
        View::Processes => model.rows().iter().map(|p| p.pid).collect(),
        View::Tree => model.tree().iter().map(|r| r.pid).collect(),
    }
}

/// Draws one frame.
pub fn draw(frame: &mut Frame, model: &Model, screen: &Screen) {
    let workers = model.snapshot().map_or(0, |s| s.workers.len());
    let areas = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Length((workers.min(8) + 2) as u16),
            Constraint::Min(5),
            Constraint::Length(1),
        ])
        .split(frame.area());
    draw_header(frame, areas[0], model, screen);
    draw_workers(frame, areas[1], model);
    let main = if screen.detail {
        let split = Layout::default()
            .direction(Direction::Horizontal)
            .constraints([Constraint::Percentage(60), Constraint::Percentage(40)])
            .split(areas[2]);
        draw_detail(frame, split[1], model, screen.selected);
        split[0]
    } else {
        areas[2]
    };
    match screen.view {
        View::Processes => draw_processes(frame, main, model, screen.selected),
        View::Tree => draw_tree(frame, main, model, screen.selected),
    }
    let help = if screen.status.is_empty() {
        "q quit  tab view  ↑↓ select  enter detail/fold  r/m/M/l sort  x kill".to_string()
    } else {
        screen.status.clone()
    };
    frame.render_widget(Paragraph::new(help).style(Style::default().fg(Color::DarkGray)), areas[3]);
    if let Some(pid) = screen.confirm_kill {
        draw_confirm(frame, model, pid);
    }
}

fn draw_header(frame: &mut Frame, area: Rect, model: &Model, screen: &Screen) {
    let text = match model.snapshot() {
        Some(s) => format!(
            "ember-top {}  node {}  up {}s  {} processes  stacks {} in use / {} pooled  blocking threads {}{}",
            screen.addr,
            s.node,
            s.uptime_ms / 1000,
            s.processes.len(),
            s.stacks.in_use,
            s.stacks.pooled,
            s.blocking_threads,
            if screen.writable { "  [write]" } else { "" }
        ),
        None => format!("ember-top {}  waiting for the first snapshot...", screen.addr),
    };
    frame.render_widget(Paragraph::new(text).style(Style::default().add_modifier(Modifier::BOLD)), area);
}

fn draw_workers(frame: &mut Frame, area: Rect, model: &Model) {
    let block = Block::default().borders(Borders::ALL).title(" workers (busy) ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(snapshot) = model.snapshot() else { return };
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints(vec![Constraint::Length(1); inner.height as usize])
        .split(inner);
    for (row, worker) in rows.iter().zip(&snapshot.workers) {
        let history = model.worker_history().get(worker.index);
        let last = history.and_then(|h| h.back()).copied().unwrap_or(0);
        let cols = Layout::default()
            .direction(Direction::Horizontal)
            .constraints([Constraint::Length(34), Constraint::Min(1)])
            .split(*row);
        let label = format!(
            "w{:<2} {:>3}% q{:<4} st{:<6} pk{:<6}",
            worker.index,
            last / 10,
            worker.run_queue_len,
            worker.steals,
            worker.parks
        );
        frame.render_widget(Paragraph::new(label), cols[0]);
        let data: Vec<u64> = history
            .map(|h| {
                // The newest samples, as many as fit.
                let width = cols[1].width as usize;
                h.iter().skip(h.len().saturating_sub(width)).copied().collect()
            })
            .unwrap_or_default();
        let style = Style::default().fg(if worker.held { Color::Red } else { Color::Green });
        frame.render_widget(Sparkline::default().data(&data).max(1000).style(style), cols[1]);
    }
}

fn draw_processes(frame: &mut Frame, area: Rect, model: &Model, selected: Option<Pid>) {
    let rows = model.rows();
    let header = Row::new(["PID", "NAME", "STATUS", "MAILBOX", "REDS", "MEMORY"])
        .style(Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED));
    let body: Vec<Row> = rows
        .iter()
        .map(|p| {
            let mailbox_style =
                if p.message_queue_len >= 100 { Style::default().fg(Color::Yellow) } else { Style::default() };
            Row::new(vec![
                Cell::from(p.pid.to_string()),
                Cell::from(name_of(p)),
                Cell::from(status_name(p.status)),
                Cell::from(p.message_queue_len.to_string()).style(mailbox_style),
                Cell::from(model.reductions_delta(p).to_string()),
                Cell::from(human_bytes(p.memory)),
            ])
        })
        .collect();
    let widths = [
        Constraint::Length(14),
        Constraint::Min(16),
        Constraint::Length(11),
        Constraint::Length(8),
        Constraint::Length(10),
        Constraint::Length(8),
    ];
    let title = format!(" processes, by {} ", model.sort().title());
    let table = Table::new(body, widths)
        .header(header)
        .block(Block::default().borders(Borders::ALL).title(title))
        .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED));
    let mut state = TableState::default();
    state.select(selected.and_then(|pid| rows.iter().position(|p| p.pid == pid)));
    frame.render_stateful_widget(table, area, &mut state);
}

fn draw_tree(frame: &mut Frame, area: Rect, model: &Model, selected: Option<Pid>) {
    let rows = model.tree();
    let items: Vec<ListItem> = rows
        .iter()
        .map(|r| {
            let marker = match (r.children, r.collapsed) {
                (0, _) => "  ",
                (_, true) => "▸ ",
                (_, false) => "▾ ",
            };
            let folded = if r.collapsed { format!("  (+{})", r.children) } else { String::new() };
            ListItem::new(Line::from(vec![
                Span::raw("  ".repeat(r.depth)),
                Span::raw(marker),
                Span::styled(r.pid.to_string(), Style::default().fg(Color::Cyan)),
                Span::raw(" "),
                Span::raw(r.name.clone()),
                Span::styled(folded, Style::default().fg(Color::DarkGray)),
            ]))
        })
        .collect();
    let list = List::new(items)
        .block(Block::default().borders(Borders::ALL).title(" supervision tree "))
        .highlight_style(Style::default().add_modifier(Modifier::REVERSED));
    let mut state = ListState::default();
    state.select(selected.and_then(|pid| rows.iter().position(|r| r.pid == pid)));
    frame.render_stateful_widget(list, area, &mut state);
}

fn draw_detail(frame: &mut Frame, area: Rect, model: &Model, selected: Option<Pid>) {
    let block = Block::default().borders(Borders::ALL).title(" process ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(p) = selected.and_then(|pid| model.process(pid)) else {
        frame.render_widget(Paragraph::new("no process selected"), inner);
        return;
    };
    let pids = |v: &[Pid]| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.iter().map(Pid::to_string).collect::<Vec<_>>().join(" ")
        }
    };
    let monitors: Vec<Pid> = p.monitors.iter().map(|(_, target)| target.pid()).collect();
    let lines = vec![
        format!("pid          {}", p.pid),
        format!("label        {}", p.label.as_deref().unwrap_or("-")),
        format!("name         {}", p.registered_name.as_ref().map_or("-", |n| n.as_str())),
        format!("status       {}", status_name(p.status)),
        format!("parent       {}", p.parent.map_or("-".into(), |p| p.to_string())),
        format!("started      {:.1}s after the node", p.started_ms as f64 / 1000.0),
        format!("mailbox      {}", p.message_queue_len),
        format!("reductions   {}", p.reductions),
        format!("handled      {}", p.messages_handled),
        format!("memory       {}", human_bytes(p.memory)),
        format!("stack        {} (deepest {})", human_bytes(p.stack_bytes), human_bytes(p.stack_high_water)),
        format!("trap_exit    {}", p.trap_exit),
        format!("links        {}", pids(&p.links)),
        format!("monitors     {}", pids(&monitors)),
        format!("monitored by {}", pids(&p.monitored_by)),
    ];
    let parts = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Min(1), Constraint::Length(4)])
        .split(inner);
    let text: Vec<Line> = lines.into_iter().map(Line::from).collect();
    frame.render_widget(Paragraph::new(text), parts[0]);
    let history: Vec<u64> = model.mailbox_history(p.pid).map(|h| h.iter().copied().collect()).unwrap_or_default();
    let sparkline = Sparkline::default()
        .block(Block::default().borders(Borders::TOP).title(" mailbox over time "))
        .data(&history)
        .style(Style::default().fg(Color::Yellow));
    frame.render_widget(sparkline, parts[1]);
}

fn draw_confirm(frame: &mut Frame, model: &Model, pid: Pid) {
    let area = frame.area();
    let width = 60.min(area.width);
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height / 2).saturating_sub(2),
        width,
        height: 4.min(area.height),
    };
    let name = model.process(pid).map(name_of).unwrap_or_default();
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(vec![Line::from(format!("Kill {pid} {name}?")), Line::from("y: kill   any other key: cancel")])
            .block(Block::default().borders(Borders::ALL).title(" confirm ").style(Style::default().fg(Color::Red))),
        popup,
    );
}
