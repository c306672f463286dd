//! Interface names on FreeBSD, checked before any system call, and the plan that turns a
//! requested name into system calls. Both are pure, so their tests run on every platform.
//!
//! The kernel names a cloned interface after its driver and unit (`tun0`, `tap3`); any other
//! name is given by renaming it afterwards (`SIOCSIFNAME`), which the tun driver follows with a
//! `/dev` alias of the new name (`tunrename` in `sys/net/if_tuntap.c`).

use crate::check::Checked;
use crate::config::Layer;

/// The longest interface name FreeBSD accepts, in bytes (`IFNAMSIZ` less the NUL: SIOCSIFNAME
/// answers `ENAMETOOLONG` beyond it).
pub(crate) const MAX_NAME_LEN: usize = 15;

/// The highest `%d` number tried for a pattern before giving up.
const MAX_PATTERN_UNIT: u32 = 4095;

/// At most [`MAX_NAME_LEN`] bytes of printable ASCII other than `/` (the name becomes a path
/// under `/dev`), not `.` or `..`, and no `%` other than one `%d`. Empty means "the kernel
/// picks". Narrower than what SIOCSIFNAME takes (any bytes but NUL): these names also have to
/// work as device paths and in `ifconfig`.
pub(crate) fn check_name(name: &str) -> Checked {
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "name {name:?} is {} bytes long; at most {MAX_NAME_LEN} are allowed",
            name.len()
        ));
    }
    if name == "." || name == ".." {
        return Err(format!("name {name:?} is reserved"));
    }
    if let Some(bad) = name.bytes().find(|&b| !b.is_ascii_graphic() || b == b'/') {
        return Err(format!(
            "name {name:?} contains the byte {bad:#04x}; FreeBSD interface names here are \
             printable ASCII without spaces or '/' (the name is also a path under /dev)"
        ));
    }
    let percents = name.matches('%').count();
    if percents > 1 || (percents == 1 && !name.contains("%d")) {
        return Err(format!(
            "name {name:?} has a '%' that is not a single \"%d\" pattern"
        ));
    }
    Ok(())
}

/// The driver's clone name for a layer (`SIOCIFCREATE2` with it picks the lowest free unit).
pub(crate) fn driver(layer: Layer) -> &'static str {
    match layer {
        Layer::Tun => "tun",
        Layer::Tap => "tap",
    }
}

/// Whether `name` is one the driver creates itself: its clone name and a unit number without
/// leading zeros (`ifc_name2unit` refuses those).
fn is_kernel_name(name: &str, layer: Layer) -> bool {
    let Some(unit) = name.strip_prefix(driver(layer)) else {
        return false;
    };
    !unit.is_empty()
        && unit.bytes().all(|b| b.is_ascii_digit())
        && (unit == "0" || !unit.starts_with('0'))
        && unit.parse::<u32>().is_ok()
}

/// What to do after creating the interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rename {
    /// Keep the kernel's name.
    Keep,
    /// Rename to this exact name.
    To(String),
    /// Rename to the first free `prefix N suffix`.
    Pattern { prefix: String, suffix: String },
}

/// How a build reaches its interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Plan {
    /// `SIOCIFCREATE2` with `request`, then rename as said, then open `/dev/<name>`.
    Create { request: String, rename: Rename },
    /// Open the existing interface's `/dev/<name>` (a persistent one; the driver allows one
    /// open at a time, so a device in use answers `EBUSY`).
    Attach { name: String },
}

/// The plan for a checked `name`; `exists` says whether an interface of that name exists now.
pub(crate) fn plan(name: &str, layer: Layer, exists: bool) -> Plan {
    let create = |rename| Plan::Create {
        request: driver(layer).to_owned(),
        rename,
    };
    if name.is_empty() {
        return create(Rename::Keep);
    }
    if let Some((prefix, suffix)) = name.split_once("%d") {
        return create(Rename::Pattern {
            prefix: prefix.to_owned(),
            suffix: suffix.to_owned(),
        });
    }
    if exists {
        return Plan::Attach {
            name: name.to_owned(),
        };
    }
    if is_kernel_name(name, layer) {
        // The driver makes exactly this unit, or fails with EEXIST: no rename needed.
        return Plan::Create {
            request: name.to_owned(),
            rename: Rename::Keep,
        };
    }
    create(Rename::To(name.to_owned()))
}

/// The names a pattern stands for, in the order to try them, as long as they fit.
pub(crate) fn pattern_names<'a>(
    prefix: &'a str,
    suffix: &'a str,
) -> impl Iterator<Item = String> + 'a {
    (0..=MAX_PATTERN_UNIT)
        .map(move |unit| format!("{prefix}{unit}{suffix}"))
        .take_while(|name| name.len() <= MAX_NAME_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freebsd_names() {
        for good in ["", "tun0", "tun%d", "wg-1", "exactly15bytes_", "vpn%d.x"] {
            assert!(check_name(good).is_ok(), "{good:?} rejected");
        }
        for bad in [
            "sixteen_bytes_xx",
            ".",
            "..",
            "a/b",
            "a b",
            "a\tb",
            "tüñ0",
            "nul\0",
            "%s",
            "t%d%d",
            "tun%",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn freebsd_kernel_names() {
        assert!(is_kernel_name("tun0", Layer::Tun));
        assert!(is_kernel_name("tun17", Layer::Tun));
        assert!(is_kernel_name("tap3", Layer::Tap));
        assert!(!is_kernel_name("tap3", Layer::Tun));
        assert!(!is_kernel_name("tun", Layer::Tun));
        assert!(!is_kernel_name("tun05", Layer::Tun));
        assert!(!is_kernel_name("tun0a", Layer::Tun));
        assert!(!is_kernel_name("tun99999999999", Layer::Tun));
    }

    #[test]
    fn freebsd_plans() {
        let create = |request: &str, rename| Plan::Create {
            request: request.into(),
            rename,
        };
        assert_eq!(plan("", Layer::Tun, false), create("tun", Rename::Keep));
        assert_eq!(plan("", Layer::Tap, false), create("tap", Rename::Keep));
        assert_eq!(
            plan("tun4", Layer::Tun, false),
            create("tun4", Rename::Keep)
        );
        assert_eq!(
            plan("wg0", Layer::Tun, false),
            create("tun", Rename::To("wg0".into()))
        );
        // An existing name is attached to, whatever its form.
        for name in ["tun4", "wg0"] {
            assert_eq!(
                plan(name, Layer::Tun, true),
                Plan::Attach { name: name.into() }
            );
        }
        // A pattern always creates, even if some of its names exist.
        assert_eq!(
            plan("vpn%d.x", Layer::Tap, true),
            create(
                "tap",
                Rename::Pattern {
                    prefix: "vpn".into(),
                    suffix: ".x".into()
                }
            )
        );
    }

    #[test]
    fn freebsd_pattern_names_fit_ifnamsiz() {
        let names: Vec<String> = pattern_names("vpn", "").take(3).collect();
        assert_eq!(names, ["vpn0", "vpn1", "vpn2"]);
        // 13 bytes of prefix leave room for units 0 to 99 only.
        let long: Vec<String> = pattern_names("abcdefghijklm", "").collect();
        assert_eq!(long.len(), 100);
        assert!(long.iter().all(|name| name.len() <= MAX_NAME_LEN));
        assert_eq!(pattern_names("abcdefghijklmno", "").count(), 0);
    }
}
