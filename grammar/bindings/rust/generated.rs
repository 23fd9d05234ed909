//! A generator of large, valid Adama programs for benchmarks of every stage that reads source.

/// A realistic program of at least `lines` lines: numbered units of a record, a table, fields,
/// formulas, a message, a function and a handler, each unit referring to the previous one.
pub fn generated_program(lines: usize) -> String {
    let mut program = String::new();
    let mut n_lines = 0;
    let mut unit = 1;
    while n_lines < lines {
        let previous = if unit > 1 { unit - 1 } else { 1 };
        let text = format!(
            "// unit {unit}\n\
             record R{unit} {{\n  public int a;\n  public string b;\n  public double c;\n}}\n\n\
             table<R{unit}> t{unit};\npublic int f{unit};\n\
             public formula g{unit} = f{unit} + f{previous} + 1;\n\
             public formula n{unit} = (iterate t{unit} where a > {unit}).size();\n\n\
             message M{unit} {{\n  int x;\n  string y;\n}}\n\n\
             function h{unit}(int x) -> int {{\n  return x * 2 + {unit};\n}}\n\n\
             channel c{unit}(M{unit} m) {{\n  f{unit} += m.x;\n  t{unit} <- {{a: m.x, b: m.y, c: 1.5}};\n\
             \x20 if (m.x > {unit}) {{\n    f{unit} = h{unit}(f{unit}) + h{previous}(m.x);\n  }} else {{\n    f{unit} -= g{unit};\n  }}\n}}\n\n"
        );
        n_lines += text.matches('\n').count();
        program.push_str(&text);
        unit += 1;
    }
    program
}
