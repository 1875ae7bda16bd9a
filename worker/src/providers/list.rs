// The one list of providers, a line each, in the default fallback order: the provider's module
// (`worker/src/providers/<module>`, whose `spec.rs` holds its name, defaults and credential),
// the name it goes by in code, its crawl pages if it crawls (a type of its `spec.rs`), and how
// its client is built from the settings (as a search provider, or with `Built::crawling` one
// that also crawls). `muze-shared` reads the same
// lines for the names and specs (`ProviderName`), the worker for its modules and clients, so
// a new provider is its module and one line here. Not a module: both crates `include!` it.
providers! {
    spotify: Spotify, pages: Page => |s, p| spotify::Spotify::new(p, &s.search.market).map(Built::crawling),
    youtube: Youtube => |_, p| youtube::Youtube::new(p).map(Built::searching),
    shazam: Shazam => |_, p| shazam::Shazam::new(p).map(Built::searching),
    deezer: Deezer, pages: Page => |_, p| deezer::Deezer::new(p).map(Built::crawling),
    musicbrainz: Musicbrainz => |_, p| musicbrainz::MusicBrainz::new(p).map(Built::searching),
}
