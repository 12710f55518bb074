/// The dashboard at `/` (being written; replaced by the full page).
enum DashboardPage {
    /// The whole page.
    static let html: String = #"""
        <!doctype html><title>portcullis</title><p>dashboard pending</p>
        """#
}
