//! Text that prints as it reads. Names and addresses end up on printed lists (公示名单, the
//! ledgers) and on screens side by side: characters that reorder the text around them
//! (bidirectional overrides such as U+202E), that are invisible (zero-width spaces and
//! joiners, the byte-order mark, tag characters) or that are controls can make a list lie
//! about what it says, so a field refuses them, naming the character.

/// Why `text` cannot be stored as a plain text value, if it cannot.
/// Full-width digits, letters and the plus, minus and ideographic space that Chinese input
/// methods type (`１３８`, `Ｘ`, `＋８６`) as their ASCII forms; everything else unchanged.
/// For ID numbers and phones, before they are checked.
pub fn half_width(input: &str) -> String {
    input
        .chars()
        .map(|c| match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

pub fn check_plain(text: &str) -> Result<(), String> {
    match text.chars().find(|c| !allowed(*c)) {
        None => Ok(()),
        Some(c) if c.is_control() => Err("must not contain control characters".into()),
        Some(c) => Err(format!(
            "must not contain U+{:04X} (an invisible or text-reordering character)",
            u32::from(c)
        )),
    }
}

fn allowed(c: char) -> bool {
    if c == '\n' || c == '\t' {
        return true;
    }
    !(c.is_control()
        || matches!(c,
            // Arabic letter mark; Mongolian vowel separator.
            '\u{061C}' | '\u{180E}'
            // Zero-width space, non-joiner, joiner; left-to-right and right-to-left marks.
            | '\u{200B}'..='\u{200F}'
            // Line and paragraph separators; embeddings and overrides (LRE … RLO).
            | '\u{2028}'..='\u{202E}'
            // Word joiner, invisible operators; isolates (LRI … PDI); deprecated format
            // characters.
            | '\u{2060}'..='\u{206F}'
            // Byte-order mark (zero-width no-break space).
            | '\u{FEFF}'
            // Interlinear annotation characters.
            | '\u{FFF9}'..='\u{FFFB}'
            // Tag characters.
            | '\u{E0000}'..='\u{E007F}'))
}

#[cfg(test)]
mod tests {
    use super::check_plain;

    #[test]
    fn names_and_addresses_as_people_write_them_pass() {
        for ok in [
            "张三",
            "华林路1号 3栋 2单元",
            "阿卜杜拉·买买提",
            "O'Brien-Smith",
            "第一行\n第二行\t缩进",
            "ＡＢＣ１２３",
        ] {
            assert_eq!(check_plain(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn reordering_invisible_and_control_characters_are_named() {
        let cases = [
            ("张\u{202E}三", "U+202E"),
            ("张\u{2066}三\u{2069}", "U+2066"),
            ("张\u{200B}三", "U+200B"),
            ("\u{FEFF}张三", "U+FEFF"),
            ("张三\u{E0041}", "U+E0041"),
            ("张\u{200F}三", "U+200F"),
            ("张\u{061C}三", "U+061C"),
        ];
        for (text, named) in cases {
            let e = check_plain(text).expect_err(text);
            assert!(e.contains(named), "{text:?}: {e}");
        }
        assert_eq!(
            check_plain("a\u{0}b"),
            Err("must not contain control characters".into())
        );
        assert!(check_plain("a\u{7}b").is_err());
        assert!(
            check_plain("a\r\nb").is_err(),
            "a carriage return is a control"
        );
    }
}
