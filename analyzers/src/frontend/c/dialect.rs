//! C or C++ for a `.h` file, guessed from its text as clangd guesses it.
//!
//! A `.h` file is C by its extension, but C++ projects put classes in `.h`
//! files too; parsed as C, a `class` with `operator*` is a run of syntax
//! errors. A header whose code (comments and literals left out) has a
//! construct that C lacks — `namespace`, `template <`, `class Name {` or
//! `class Name :`, an access label (`public:`), a scope operator between
//! names (`Matrix::rows`, `std::vector`), or an extension-less standard
//! include (`#include <vector>`) — is parsed as C++. A C header's
//! `extern "C"` guard is no such construct.

/// True when `text` has one of the C++ constructs above.
pub(crate) fn looks_like_cpp(text: &str) -> bool {
    let code = code_only(text);
    if code.contains("::") && scope_between_names(&code) {
        return true;
    }
    for line in code.lines() {
        let l = line.trim_start();
        if let Some(rest) = l.strip_prefix('#') {
            let rest = rest.trim_start();
            if let Some(inc) = rest.strip_prefix("include") {
                let inc = inc.trim();
                if let Some(name) = inc.strip_prefix('<').and_then(|s| s.split('>').next()) {
                    if !name.is_empty() && !name.contains('.') {
                        return true;
                    }
                }
            }
        }
    }
    let toks = tokens(&code);
    toks.windows(3).any(|w| match (w[0], w[1], w[2]) {
        ("namespace", n, "{") if is_name(n) => true,
        ("namespace", "{", _) => true,
        ("template", "<", _) => true,
        ("class", n, "{" | ":") if is_name(n) => true,
        ("public" | "private" | "protected", ":", next) => next != ":",
        _ => false,
    })
}

fn is_name(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Names, and every other character as a token of its own.
fn tokens(code: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let b = code.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_alphanumeric() || c == b'_' {
            let s = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(&code[s..i]);
        } else {
            let len = code[i..].chars().next().map_or(1, char::len_utf8);
            out.push(&code[i..i + len]);
            i += len;
        }
    }
    out
}

/// `a::b` with names on both sides (not `a ? b :: c`-like typos).
fn scope_between_names(code: &str) -> bool {
    let b = code.as_bytes();
    let name = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    b.windows(4)
        .any(|w| name(w[0]) && w[1] == b':' && w[2] == b':' && (name(w[3]) || w[3] == b'~'))
}

/// `text` with comments, string and character literals blanked.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                for d in chars.by_ref() {
                    if prev == '*' && d == '/' {
                        break;
                    }
                    if d == '\n' {
                        out.push('\n');
                    }
                    prev = d;
                }
                out.push(' ');
            }
            '"' | '\'' => {
                let mut esc = false;
                for d in chars.by_ref() {
                    if esc {
                        esc = false;
                    } else if d == '\\' {
                        esc = true;
                    } else if d == c || d == '\n' {
                        break;
                    }
                }
                out.push(' ');
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::looks_like_cpp;

    #[test]
    fn cpp_constructs_in_a_header() {
        for t in [
            "class Matrix {\npublic:\n  int rows;\n};",
            "struct M { int r; };\ndouble M_at(M m);\nint M::get() { return 0; }",
            "#include <vector>\nstruct A { int x; };",
            "template <typename T> T id(T x) { return x; }",
            "namespace nn { int f(); }",
            "struct L : Base {\n  private:\n int w;\n};",
        ] {
            assert!(looks_like_cpp(t), "{t}");
        }
    }

    #[test]
    fn c_headers_stay_c() {
        for t in [
            "#ifdef __cplusplus\nextern \"C\" {\n#endif\nvoid f(int class_id);\n",
            "#include <stdio.h>\ntypedef struct { float *data; int rows; } mat_t;",
            "/* see Matrix::mul, template <T>, class A { */\nint x;",
            "const char *s = \"a::b namespace { class X {\";",
            "int f(int c) { return c ? 1 : 2; }\nlabel: ;",
        ] {
            assert!(!looks_like_cpp(t), "{t}");
        }
    }

    fn findings(path: &str, text: &str) -> Vec<(String, String)> {
        crate::analyze(path, text, &crate::NoIncludes)
            .map(|a| {
                a.findings
                    .iter()
                    .map(|f| (f.code.to_string(), f.function.clone().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn a_class_in_a_header_is_read_as_cpp() {
        let text = "#include <vector>
class Grid {
    std::vector<std::vector<float>> v;
    int rows, cols;
public:
    Grid(int r, int c) : rows(r), cols(c) {}
    float &operator()(int r, int c) {
        if (r >= rows || c >= cols) { throw 1; }
        return v[r][c];
    }
    float operator()(int r, int c) const {
        if (r >= rows) throw 2;
        return v[r][c];
    }
    Grid operator*(const Grid &o) const {
        Grid out(rows, o.cols);
        for (int i = 0; i < rows; ++i)
            for (int j = 0; j < o.cols; ++j)
                for (int k = 0; k < cols; ++k)
                    out(i, j) += v[i][k] * o(k, j);
        return out;
    }
};
";
        assert_eq!(
            crate::ir::Lang::of_file("grid.h", text),
            Some(crate::ir::Lang::Cuda)
        );
        assert_eq!(
            findings("grid.h", text),
            vec![("GS101".to_string(), "Grid::operator*".to_string())]
        );
    }

    #[test]
    fn a_c_header_stays_c() {
        // `new` is a name in C and a keyword in C++: parsed as C++, the
        // product below would be lost.
        let text = "typedef struct { int n; float *new; } vec_t;
static void mv(int n, float **m, const float *x, float *new) {
    for (int i = 0; i < n; i++) {
        float s = 0;
        for (int k = 0; k < n; k++) s += m[i][k] * x[k];
        new[i] = s;
    }
}
";
        assert_eq!(
            crate::ir::Lang::of_file("mv.h", text),
            Some(crate::ir::Lang::C)
        );
        assert_eq!(
            findings("mv.h", text),
            vec![("GS201".to_string(), "mv".to_string())]
        );
    }
}
