//! HTTP-level specifications of muze-sim: each test spawns a simulator on port 0 and talks
//! to it the way a provider client would.

mod arrival;
mod binary;
mod control;
mod deezer;
mod faults;
mod musicbrainz;
mod shazam;
mod spotify;
mod support;
mod youtube;
