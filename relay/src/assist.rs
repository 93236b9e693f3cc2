//! Feed-driven assists: when several viewers ask about one product in the comments ("3号",
//! "三号链接", "链接3", the product's name), the staff get an `assist.suggested` event for it,
//! so the console can suggest pinning it. Nothing is pinned here: the assistant decides.

use std::collections::{HashMap, VecDeque};

/// Distinct askers (client addresses, see `interaction`: tokens are free) asking about one
/// product within [`ASK_WINDOW_MS`] before a suggestion.
pub const ASK_THRESHOLD: usize = 5;
pub const ASK_WINDOW_MS: i64 = 30_000;

/// `０`–`９` and `＃` as their ASCII forms, so full-width input reads the same.
fn half_width(c: char) -> char {
    match c {
        '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
        '＃' => '#',
        _ => c,
    }
}

fn chinese_digit(c: char) -> Option<i64> {
    Some(match c {
        '零' | '〇' => 0,
        '一' => 1,
        '二' | '两' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

/// `三` → 3, `十` → 10, `十二` → 12, `二十` → 20, `二十三` → 23; `None` for anything else.
fn chinese_number(s: &str) -> Option<i64> {
    let chars: Vec<char> = s.chars().collect();
    match chars.as_slice() {
        [d] => chinese_digit(*d).or((*d == '十').then_some(10)),
        ['十', d] => Some(10 + chinese_digit(*d)?),
        [d, '十'] => Some(chinese_digit(*d)? * 10),
        [a, '十', b] => Some(chinese_digit(*a)? * 10 + chinese_digit(*b)?),
        _ => None,
    }
}

fn is_numeral(c: char) -> bool {
    c.is_ascii_digit() || c == '十' || chinese_digit(c).is_some()
}

fn number(s: &str) -> Option<i64> {
    if s.chars().all(|c| c.is_ascii_digit()) {
        s.parse().ok()
    } else {
        chinese_number(s)
    }
}

/// The cart positions a comment names: `3号`, `3 号链接`, `三号`, `链接3`, `#3`, with
/// full-width digits too. Numbers not tied to 号/链接/# ("3个", "买了2件") are not positions.
pub fn mentioned_positions(comment: &str) -> Vec<i64> {
    let chars: Vec<char> = comment.chars().map(half_width).collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !is_numeral(chars[i]) {
            i += 1;
            continue;
        }
        let start = i;
        let ascii = chars[i].is_ascii_digit();
        while i < chars.len() && is_numeral(chars[i]) && chars[i].is_ascii_digit() == ascii {
            i += 1;
        }
        let run: String = chars[start..i].iter().collect();
        let Some(n) = number(&run) else {
            continue;
        };
        let mut after = i;
        while after < chars.len() && chars[after] == ' ' {
            after += 1;
        }
        let before: String = chars[..start]
            .iter()
            .rev()
            .skip_while(|c| **c == ' ')
            .take(2)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let tied =
            chars.get(after) == Some(&'号') || before.ends_with("链接") || before.ends_with('#');
        if tied && n > 0 && !found.contains(&n) {
            found.push(n);
        }
    }
    found
}

/// Whether a comment names the product: its whole title, or a word of it of three characters
/// or more ("收纳箱" in "折叠收纳箱 三件套" does not count, "折叠收纳箱" does).
pub fn mentions_title(comment: &str, title: &str) -> bool {
    let title = title.trim();
    if title.is_empty() {
        return false;
    }
    comment.contains(title)
        || title
            .split(|c: char| c.is_whitespace() || c.is_ascii_punctuation() || "，。、·".contains(c))
            .filter(|word| word.chars().count() >= 3)
            .any(|word| comment.contains(word))
}

/// What one product in the cart is called.
#[derive(Debug, Clone)]
pub struct CartEntry {
    pub position: i64,
    pub product_id: i64,
    pub title: String,
}

/// The products in `cart` that `comment` asks about.
pub fn products_asked(comment: &str, cart: &[CartEntry]) -> Vec<i64> {
    let positions = mentioned_positions(comment);
    cart.iter()
        .filter(|e| positions.contains(&e.position) || mentions_title(comment, &e.title))
        .map(|e| e.product_id)
        .collect()
}

/// A product enough viewers asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pub live_id: i64,
    pub product_id: i64,
    pub viewers: usize,
}

/// Who asked about what, per live and product, over the last [`ASK_WINDOW_MS`].
#[derive(Debug, Default)]
pub struct AskTracker {
    asks: HashMap<(i64, i64), VecDeque<(i64, i64)>>,
    suggested_at: HashMap<(i64, i64), i64>,
}

impl AskTracker {
    /// Records that `viewer` (an asker's tag: their address, or the viewer id when there is none)
    /// asked about `product_id` at `at_ms`; a suggestion when this makes [`ASK_THRESHOLD`]
    /// distinct askers in the window, at most once per window per product.
    pub fn record(
        &mut self,
        live_id: i64,
        product_id: i64,
        viewer: i64,
        at_ms: i64,
    ) -> Option<Suggestion> {
        let key = (live_id, product_id);
        let asks = self.asks.entry(key).or_default();
        while asks.front().is_some_and(|(_, t)| at_ms - t > ASK_WINDOW_MS) {
            asks.pop_front();
        }
        asks.push_back((viewer, at_ms));
        let mut viewers: Vec<i64> = asks.iter().map(|(v, _)| *v).collect();
        viewers.sort_unstable();
        viewers.dedup();
        let recently = self
            .suggested_at
            .get(&key)
            .is_some_and(|t| at_ms - t <= ASK_WINDOW_MS);
        if viewers.len() < ASK_THRESHOLD || recently {
            return None;
        }
        self.suggested_at.insert(key, at_ms);
        Some(Suggestion {
            live_id,
            product_id,
            viewers: viewers.len(),
        })
    }

    /// Drops a live's state (it ended).
    pub fn forget_live(&mut self, live_id: i64) {
        self.asks.retain(|(live, _), _| *live != live_id);
        self.suggested_at.retain(|(live, _), _| *live != live_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_in_arabic_chinese_and_full_width_numerals() {
        assert_eq!(mentioned_positions("3号还有吗"), vec![3]);
        assert_eq!(mentioned_positions("三号链接多少钱"), vec![3]);
        assert_eq!(mentioned_positions("想要３号"), vec![3]);
        assert_eq!(mentioned_positions("链接 12 呢"), vec![12]);
        assert_eq!(mentioned_positions("#5 上车"), vec![5]);
        assert_eq!(mentioned_positions("十二号和二十号"), vec![12, 20]);
        assert_eq!(mentioned_positions("两号"), vec![2]);
        assert_eq!(mentioned_positions("二十三号"), vec![23]);
    }

    #[test]
    fn numbers_that_are_not_positions_are_ignored() {
        assert!(mentioned_positions("买了2件，3个够吗").is_empty());
        assert!(mentioned_positions("主播一定要加油").is_empty());
        assert!(mentioned_positions("0号").is_empty());
        assert!(mentioned_positions("").is_empty());
    }

    #[test]
    fn titles_are_matched_whole_or_by_a_long_word() {
        assert!(mentions_title("折叠收纳箱有货吗", "折叠收纳箱 三件套"));
        assert!(mentions_title("想要那个三件套", "折叠收纳箱 三件套"));
        assert!(!mentions_title("主播好", "折叠收纳箱 三件套"));
        assert!(!mentions_title("ok", "OK"), "short words are too common");
        let cart = [
            CartEntry {
                position: 1,
                product_id: 10,
                title: "保温杯 316不锈钢".into(),
            },
            CartEntry {
                position: 3,
                product_id: 30,
                title: "折叠收纳箱 三件套".into(),
            },
        ];
        assert_eq!(products_asked("三号还有吗", &cart), vec![30]);
        assert_eq!(products_asked("保温杯是316不锈钢吗", &cart), vec![10]);
        assert!(products_asked("9号", &cart).is_empty());
    }

    #[test]
    fn five_viewers_within_thirty_seconds_make_one_suggestion() {
        let mut tracker = AskTracker::default();
        // One viewer asking five times is one viewer.
        for t in 0..5 {
            assert_eq!(tracker.record(1, 30, 100, t * 1000), None);
        }
        for (i, viewer) in [101, 102, 103].into_iter().enumerate() {
            assert_eq!(tracker.record(1, 30, viewer, 5_000 + i as i64), None);
        }
        let s = tracker.record(1, 30, 104, 9_000).unwrap();
        assert_eq!((s.product_id, s.viewers), (30, 5));
        // Not again within the window; again after it, if viewers keep asking.
        assert_eq!(tracker.record(1, 30, 105, 10_000), None);
        for (i, viewer) in (200..205).enumerate() {
            let got = tracker.record(1, 30, viewer, 45_000 + i as i64);
            assert_eq!(got.is_some(), i == 4, "viewer {viewer}");
        }
    }

    #[test]
    fn asks_older_than_the_window_do_not_count() {
        let mut tracker = AskTracker::default();
        for (i, viewer) in (1..=4).enumerate() {
            tracker.record(7, 1, viewer, i as i64 * 1000);
        }
        // The fifth comes 40 s after the first four: they are out of the window.
        assert_eq!(tracker.record(7, 1, 5, 43_000), None);
        tracker.forget_live(7);
        assert!(tracker.asks.is_empty());
    }
}
