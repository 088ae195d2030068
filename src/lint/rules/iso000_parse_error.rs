//! ISO000: a file that could not be checked.

declare_rule! {
    /// # ISO000 parse-error
    ///
    /// Checklist item: none (reported for every file isocheck could not check).
    ///
    /// ## What it does
    /// Reports a Python file that isocheck could not analyse: it does not parse
    /// (a syntax error), it is not valid UTF-8, or it could not be read (permissions,
    /// a file that vanished during the walk). The run goes on with the other files.
    ///
    /// ## Why is this bad
    /// A file that is not analysed can hide any of the isolation mistakes the
    /// other rules look for; a clean report must not mean "skipped".
    ///
    /// ## Example
    /// ```python
    /// @app.post("/chat/{user_id}"
    /// async def chat(user_id: str): ...
    /// ```
    ///
    /// ## Fix
    /// Fix the syntax error (or the file's encoding or permissions) so the file
    /// can be checked, or exclude it from the paths given to `isocheck lint`.
    pub const RULE = ("ISO000", "parse-error", "-", High, "A file that does not parse or cannot be read; the run continues");
}
