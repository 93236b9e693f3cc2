//! The studio's settings, kept per user in its data directory: language, the relay an
//! assistant signs in to, saved destinations, effect presets, and the scenes (with their
//! canvas, landscape or portrait). Stream keys are kept apart in `secrets.json`, readable by the user only (0600):
//! the settings file can be copied or shown to support without leaking a key.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anchordesk_pipelines::scene::{Effects, SceneCollection};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

const SETTINGS_FILE: &str = "settings.json";
const SCENES_FILE: &str = "scenes.json";
const SECRETS_FILE: &str = "secrets.json";
/// Presets and destinations beyond these are refused: a list in a dock, not a database.
const MAX_ENTRIES: usize = 50;
/// The window's arrangement is a few dock sizes and names, far under this.
const MAX_DESK_BYTES: usize = 8 * 1024;

/// The canvas the window asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Orientation {
    Landscape,
    Portrait,
    /// Landscape and portrait at once: the relay gets portrait, platforms and recordings
    /// landscape.
    Dual,
}

/// A platform push the anchor saved, to start again with one click. Its key is in the
/// secrets file, never here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SavedDestination {
    pub id: String,
    pub name: String,
    pub preset: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub server: Option<String>,
    /// Whether a stream key is saved for it.
    #[serde(default)]
    pub has_key: bool,
}

/// Named beauty and background settings for a camera, applied from the effects dock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct EffectPreset {
    pub name: String,
    #[ts(type = "import('../studio/scenes').Effects")]
    pub effects: Effects,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
#[ts(export)]
pub struct StudioSettings {
    /// `zh-CN` or `en`; unset follows the default (zh-CN).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub language: Option<String>,
    /// The relay an assistant signed in to last, and with which account.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub relay_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub username: Option<String>,
    pub destinations: Vec<SavedDestination>,
    pub effect_presets: Vec<EffectPreset>,
    /// The card in the video says "仅剩 N 件" at or under this many units; unset: 9.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub low_stock_threshold: Option<i64>,
    /// When the pinned product sells out, pin the next one in the cart that has stock. Given
    /// to the live on the relay, which applies it (see the relay's `commerce::pin_rules`).
    pub next_when_sold_out: bool,
    /// Pin a product as soon as viewers' questions make the relay suggest it (off: the
    /// console only suggests). Given to the live like `next_when_sold_out`.
    pub pin_when_asked: bool,
    /// The microphone the anchor picked (a device id from the `microphones` command); unset:
    /// the system's default input. `ANCHORDESK_AUDIO` overrides it for tests and kiosks.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub microphone: Option<String>,
    /// The studio window's arrangement, theme and first-start state, as the window writes it
    /// (the window checks what it reads back).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "import('../studio/desk').DeskSettings")]
    pub desk: Option<serde_json::Value>,
}

/// The part of the settings the window changes directly; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[serde(default, deny_unknown_fields)]
#[ts(export)]
pub struct SettingsUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub language: Option<String>,
    #[ts(optional)]
    pub effect_presets: Option<Vec<EffectPreset>>,
    #[ts(optional)]
    pub low_stock_threshold: Option<i64>,
    #[ts(optional)]
    pub next_when_sold_out: Option<bool>,
    #[ts(optional)]
    pub pin_when_asked: Option<bool>,
    #[ts(optional, type = "import('../studio/desk').DeskSettings")]
    pub desk: Option<serde_json::Value>,
}

/// Cheap to clone; clones share one file set.
#[derive(Clone)]
pub struct SettingsStore {
    dir: PathBuf,
    current: Arc<Mutex<StudioSettings>>,
}

impl SettingsStore {
    /// Reads the settings in `dir`. A file that cannot be read is set aside as
    /// `settings.json.bad` (the user can still look at it) and the studio starts with defaults.
    pub fn open(dir: &Path) -> Self {
        let path = dir.join(SETTINGS_FILE);
        let current = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!("{}: {e}; starting with default settings", path.display());
                let _ = std::fs::rename(&path, path.with_extension("json.bad"));
                StudioSettings::default()
            }),
            Err(_) => StudioSettings::default(),
        };
        Self {
            dir: dir.to_owned(),
            current: Arc::new(Mutex::new(current)),
        }
    }

    pub fn get(&self) -> StudioSettings {
        lock(&self.current).clone()
    }

    /// Changes the settings with `edit` and writes them; nothing changes when either fails.
    pub fn change(
        &self,
        edit: impl FnOnce(&mut StudioSettings) -> Result<(), String>,
    ) -> Result<StudioSettings, String> {
        let mut current = lock(&self.current);
        let mut next = current.clone();
        edit(&mut next)?;
        let json = serde_json::to_vec_pretty(&next).map_err(|e| e.to_string())?;
        write_atomically(&self.dir.join(SETTINGS_FILE), &json, false)?;
        *current = next.clone();
        Ok(next)
    }

    pub fn update(&self, update: SettingsUpdate) -> Result<StudioSettings, String> {
        if let Some(language) = &update.language
            && !matches!(language.as_str(), "zh-CN" | "en")
        {
            return Err(format!("language: expected zh-CN or en, got {language:?}"));
        }
        if let Some(presets) = &update.effect_presets {
            if presets.len() > MAX_ENTRIES {
                return Err(format!("effect_presets: at most {MAX_ENTRIES}"));
            }
            if let Some(p) = presets.iter().find(|p| p.name.trim().is_empty()) {
                return Err(format!("effect_presets: a preset needs a name ({p:?})"));
            }
        }
        if let Some(n) = update.low_stock_threshold
            && !(0..=999).contains(&n)
        {
            return Err(format!("low_stock_threshold: 0–999, got {n}"));
        }
        if let Some(desk) = &update.desk {
            // The window's own shape, kept as written; bounded so a bug there cannot bloat
            // the file every setting is read from.
            if !desk.is_object() {
                return Err("desk: expected an object".into());
            }
            if desk.to_string().len() > MAX_DESK_BYTES {
                return Err(format!("desk: at most {MAX_DESK_BYTES} bytes"));
            }
        }
        self.change(|s| {
            if let Some(n) = update.low_stock_threshold {
                s.low_stock_threshold = Some(n);
            }
            if let Some(on) = update.next_when_sold_out {
                s.next_when_sold_out = on;
            }
            if let Some(on) = update.pin_when_asked {
                s.pin_when_asked = on;
            }
            if let Some(language) = update.language {
                s.language = Some(language);
            }
            if let Some(presets) = update.effect_presets {
                s.effect_presets = presets;
            }
            if let Some(desk) = update.desk {
                s.desk = Some(desk);
            }
            Ok(())
        })
    }

    /// Saves (or replaces, by name) a destination and its key; returns it.
    pub fn save_destination(
        &self,
        name: &str,
        preset: &str,
        server: Option<&str>,
        key: &str,
    ) -> Result<SavedDestination, String> {
        let name = name.trim();
        if name.is_empty() {
            return Err("name: 请填写名称 a name is required".into());
        }
        let mut saved = None;
        self.change(|s| {
            let id = match s.destinations.iter().find(|d| d.name == name) {
                Some(existing) => existing.id.clone(),
                None if s.destinations.len() >= MAX_ENTRIES => {
                    return Err(format!("name: at most {MAX_ENTRIES} destinations"));
                }
                None => fresh_id(s.destinations.iter().map(|d| d.id.as_str())),
            };
            let destination = SavedDestination {
                id: id.clone(),
                name: name.to_owned(),
                preset: preset.to_owned(),
                server: server.map(str::to_owned).filter(|s| !s.is_empty()),
                has_key: !key.is_empty(),
            };
            s.destinations.retain(|d| d.id != id);
            s.destinations.push(destination.clone());
            saved = Some(destination);
            Ok(())
        })?;
        let destination = saved.expect("set by the edit");
        self.set_key(&destination.id, Some(key))?;
        Ok(destination)
    }

    pub fn forget_destination(&self, id: &str) -> Result<(), String> {
        self.change(|s| {
            s.destinations.retain(|d| d.id != id);
            Ok(())
        })?;
        self.set_key(id, None)
    }

    /// A saved destination with its key (empty when none was saved).
    pub fn destination(&self, id: &str) -> Result<(SavedDestination, String), String> {
        let destination = self
            .get()
            .destinations
            .into_iter()
            .find(|d| d.id == id)
            .ok_or_else(|| format!("id: no saved destination {id:?}"))?;
        let key = self.secrets()?.remove(id).unwrap_or_default();
        Ok((destination, key))
    }

    /// The scenes as last shown, if saved and still valid.
    pub fn scenes(&self) -> Option<SceneCollection> {
        let path = self.dir.join(SCENES_FILE);
        let text = std::fs::read_to_string(&path).ok()?;
        SceneCollection::from_json(&text)
            .inspect_err(|e| tracing::warn!("{}: {e}; using the default scene", path.display()))
            .ok()
    }

    pub fn save_scenes(&self, scenes: &SceneCollection) -> Result<(), String> {
        write_atomically(
            &self.dir.join(SCENES_FILE),
            scenes.to_json().as_bytes(),
            false,
        )
    }

    fn secrets(&self) -> Result<BTreeMap<String, String>, String> {
        let path = self.dir.join(SECRETS_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    fn set_key(&self, id: &str, key: Option<&str>) -> Result<(), String> {
        let mut secrets = self.secrets()?;
        match key.filter(|k| !k.is_empty()) {
            Some(key) => secrets.insert(id.to_owned(), key.to_owned()),
            None => secrets.remove(id),
        };
        let json = serde_json::to_vec(&secrets).map_err(|e| e.to_string())?;
        write_atomically(&self.dir.join(SECRETS_FILE), &json, true)
    }
}

/// `d1`, `d2`, … not used yet.
fn fresh_id<'a>(used: impl Iterator<Item = &'a str> + Clone) -> String {
    (1..)
        .map(|n| format!("d{n}"))
        .find(|id| !used.clone().any(|u| u == id))
        .expect("an unbounded range has a free id")
}

/// Writes a whole file or nothing (temp file, fsync, rename). `private` creates it 0600
/// before any byte is written, so a key is never readable by others, even for a moment.
fn write_atomically(path: &Path, bytes: &[u8], private: bool) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("{}: {e}", path.display());
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let partial = path.with_extension("partial");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(&partial).map_err(fail)?;
    file.write_all(bytes).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    std::fs::rename(&partial, path).map_err(fail)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_survive_a_restart_and_bad_input_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = SettingsStore::open(dir.path());
        store
            .update(SettingsUpdate {
                language: Some("en".into()),
                effect_presets: Some(vec![EffectPreset {
                    name: "柔光".into(),
                    effects: Effects::default(),
                }]),
                low_stock_threshold: None,
                next_when_sold_out: Some(true),
                pin_when_asked: None,
                desk: Some(serde_json::json!({ "theme": "light", "sizes": { "left": 420 } })),
            })
            .unwrap();
        let refused = store.update(SettingsUpdate {
            language: Some("fr".into()),
            ..Default::default()
        });
        assert!(refused.unwrap_err().starts_with("language:"));
        let refused = store.update(SettingsUpdate {
            low_stock_threshold: Some(-1),
            ..Default::default()
        });
        assert!(refused.unwrap_err().starts_with("low_stock_threshold:"));
        let refused = store.update(SettingsUpdate {
            desk: Some(serde_json::json!({ "sizes": "x".repeat(MAX_DESK_BYTES) })),
            ..Default::default()
        });
        assert!(refused.unwrap_err().starts_with("desk:"));
        store
            .update(SettingsUpdate {
                low_stock_threshold: Some(5),
                ..Default::default()
            })
            .unwrap();

        let reopened = SettingsStore::open(dir.path()).get();
        assert_eq!(reopened.language.as_deref(), Some("en"));
        assert_eq!(reopened.effect_presets[0].name, "柔光");
        assert_eq!(reopened.low_stock_threshold, Some(5));
        assert!(reopened.next_when_sold_out);
        assert_eq!(reopened.desk.unwrap()["sizes"]["left"], 420);
    }

    #[test]
    fn stream_keys_live_in_a_file_only_the_user_can_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = SettingsStore::open(dir.path());
        let saved = store
            .save_destination("抖音", "custom", Some("rtmp://push.example/live"), "sk-123")
            .unwrap();
        assert!(saved.has_key);
        let settings = std::fs::read_to_string(dir.path().join(SETTINGS_FILE)).unwrap();
        assert!(!settings.contains("sk-123"), "{settings}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(SECRETS_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        // Saving under the same name replaces; the key follows.
        let again = store
            .save_destination("抖音", "custom", Some("rtmp://push.example/live"), "sk-456")
            .unwrap();
        assert_eq!(again.id, saved.id);
        let reopened = SettingsStore::open(dir.path());
        assert_eq!(reopened.get().destinations.len(), 1);
        assert_eq!(reopened.destination(&saved.id).unwrap().1, "sk-456");

        reopened.forget_destination(&saved.id).unwrap();
        assert!(reopened.get().destinations.is_empty());
        assert!(reopened.destination(&saved.id).is_err());
        assert!(reopened.secrets().unwrap().is_empty());
        assert!(
            store
                .save_destination(" ", "custom", None, "")
                .unwrap_err()
                .starts_with("name:")
        );
    }

    #[test]
    fn an_unreadable_settings_file_is_set_aside_not_lost() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(SETTINGS_FILE), b"{ not json").unwrap();
        let store = SettingsStore::open(dir.path());
        assert_eq!(store.get(), StudioSettings::default());
        assert!(dir.path().join("settings.json.bad").exists());
    }

    #[test]
    fn scenes_round_trip_and_invalid_ones_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let store = SettingsStore::open(dir.path());
        assert!(store.scenes().is_none());
        let scenes = SceneCollection::test_pattern(anchordesk_pipelines::scene::Canvas {
            width: 720,
            height: 1280,
            fps: 30,
        });
        store.save_scenes(&scenes).unwrap();
        assert_eq!(store.scenes(), Some(scenes));
        std::fs::write(dir.path().join(SCENES_FILE), b"{}").unwrap();
        assert!(store.scenes().is_none());
    }
}
