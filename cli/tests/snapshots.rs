//! Snapshots of `adama check` in the human format, for a spread of mistakes from the corpus:
//! the message, the quoted line, the caret and the hint, exactly as a user reads them.
//! Update with `INSTA_UPDATE=always cargo test -p adama-cli --test snapshots`, then read the diff.

use assert_cmd::Command;

const PROGRAMS: &[&str] = &[
    "Annotations_Unclosed",
    "ChannelFetch_AwaitResultReadonly",
    "Channels_RequiresUnknownPolicy",
    "Control_ForLet",
    "Conversion_IntArray",
    "Dates_TodayInStatic",
    "Dynamic_UnknownMethod",
    "Events_AbortInConnected",
    "Expressions_EqualityChain",
    "Fields_Duplicate",
    "Fields_TablePublic",
    "Functions_MutableScalar",
    "Functions_ViewerFromHandler",
    "Include_Unbound",
    "Lambda_OutsideQuery",
    "Linq_MapWrongParameter",
    "Literals_BadEscape",
    "Locals_TextLocal",
    "Maps_ParameterBadDomain",
    "Maybe_RecordFieldAssigned",
    "Messages_ReadonlyParam",
    "Parser_LessMinusIngestion",
    "Privacy_ViewerIsUnknown",
    "ReadOnly_EnqueueInFormula",
    "Records_Cycle",
    "Scope_OutOfScope",
    "StateMachine_MalformedDelay",
    "Static_TransitionInCreate",
    "Tables_AssignTable",
    "Testing_AssertNotBool",
    "Testing_SendWrongMessage",
    "Types_SecureFromPrincipal",
    "Web_ParametersOutside",
    "Who_NonLatinName",
];

#[test]
fn human_diagnostics_of_the_corpus_read_as_recorded() {
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for program in PROGRAMS {
        let path = format!("tests/corpus/{program}_failure.a");
        let output = Command::cargo_bin("adama")
            .unwrap_or_else(|error| panic!("the adama binary is built: {error}"))
            .current_dir(&workspace)
            .args(["check", &path])
            .output()
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(output.status.code(), Some(1), "{path} is rejected");
        let source = std::fs::read_to_string(workspace.join(&path))
            .unwrap_or_else(|error| panic!("{error}"));
        let report = format!(
            "{source}\n----\n{}",
            String::from_utf8_lossy(&output.stdout)
        );
        insta::assert_snapshot!(*program, report);
    }
}
