//! # A traffic light with an event — Event 红绿灯
//!
//! From `001_dd92d349ebb64331.txt`, 事件(Event类) (利用Event类模拟红绿灯).
//!
//! **The Python.** A `lighter` thread keeps an `Event` set while the light is green and clears it
//! while it is red, printing the colour every second. A `car` thread drives each second while
//! the event is set; when it is not, it says it sees red and blocks in `event.wait()` until the
//! light turns green again. Both loop forever.
//!
//! **This lesson.** The same two threads for a bounded number of cycles (`--cycles`, each 3 ticks
//! of green and 2 of red), then the light turns off and the car goes home. The car never moves on
//! red, waits on red, and resumes on green.
//!
//! **Rust differences.** The notes' event is a green/not-green flag; here the light's state
//! itself (green, red or off) sits in a `Mutex` with a `Condvar`, which is what an event is made
//! of (see `event`). The car checks the colour and prints "开动了" while holding the lock, and
//! the light changes colour and prints it under the same lock. So the printed order is the real
//! order: a "开动了" line always stands in a green stretch. In the Python, the car's check and its
//! print are separate steps, and a change to red can slip in between.
//!
//! **Run it:**
//! ```text
//! cargo run -p threads --bin traffic_light
//! cargo run -p threads --bin traffic_light -- --cycles 3
//! ```
//!
//! **Output** (the car's and the light's lines interleave a little differently every run):
//! ```text
//! 现在是绿灯
//! ['MINI'] 开动了...
//! 现在是绿灯
//! ['MINI'] 开动了...
//! 现在是绿灯
//! ['MINI'] 开动了...
//! 现在是红灯
//! ['MINI'] 看到红灯,等待中...
//! 现在是红灯
//! 现在是绿灯
//! ['MINI'] 绿灯，请通行...
//! ['MINI'] 开动了...
//! ...
//! 灯关了
//! ['MINI'] 到家了
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`.

use clap::Parser;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

/// A car drives on green and waits on red.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    tick_ms: u64,
    /// Green-then-red cycles before the light turns off.
    #[arg(long, default_value_t = 2)]
    cycles: u32,
}

#[derive(Clone, Copy, PartialEq)]
enum Color {
    Green,
    Red,
    Off,
}

struct Light {
    color: Mutex<Color>,
    changed: Condvar,
}

impl Light {
    /// Green from the start, as the notes' `event.set()` before the loop.
    fn new() -> Self {
        Light {
            color: Mutex::new(Color::Green),
            changed: Condvar::new(),
        }
    }

    fn show(&self, color: Color, message: &str) {
        let mut current = self.color.lock().unwrap();
        *current = color;
        println!("{message}");
        self.changed.notify_all();
    }
}

fn lighter(light: &Light, cycles: u32, tick: Duration) {
    for _ in 0..cycles {
        for (color, message, ticks) in [
            (Color::Green, "现在是绿灯", 3),
            (Color::Red, "现在是红灯", 2),
        ] {
            for _ in 0..ticks {
                light.show(color, message);
                thread::sleep(tick);
            }
        }
    }
    light.show(Color::Off, "灯关了");
}

fn car(name: &str, light: &Light, tick: Duration) {
    loop {
        let mut color = light.color.lock().unwrap();
        match *color {
            Color::Off => break,
            Color::Green => {
                println!("['{name}'] 开动了...");
                drop(color);
                thread::sleep(tick);
            }
            Color::Red => {
                println!("['{name}'] 看到红灯,等待中...");
                color = light
                    .changed
                    .wait_while(color, |c| *c == Color::Red)
                    .unwrap();
                if *color == Color::Green {
                    println!("['{name}'] 绿灯，请通行...");
                }
            }
        }
    }
    println!("['{name}'] 到家了");
}

fn main() {
    let args = Args::parse();
    let tick = Duration::from_millis(args.tick_ms);
    let light = Arc::new(Light::new());

    let light_thread = thread::spawn({
        let light = Arc::clone(&light);
        move || lighter(&light, args.cycles, tick)
    });
    let car_thread = thread::spawn({
        let light = Arc::clone(&light);
        move || car("MINI", &light, tick)
    });
    light_thread.join().unwrap();
    car_thread.join().unwrap();
}
