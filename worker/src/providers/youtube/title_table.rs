//! The title parser's specification: real video titles and channel names as the API sends them
//! (HTML entities included), each with the song and artists we must read from it, or "not a
//! song". K-pop, J-pop, Western and Latin uploads; official MVs, lyric videos, live clips,
//! official audio, `Artist - Topic` channels, fan uploads and titles in two languages.

use super::title::split_title;

/// What a video must be read as.
enum Read {
    /// A song: its artists (primary first) and its title.
    Song(&'static [&'static str], &'static str),
    /// Not a song (a reaction, a teaser, a playlist, a fancam): no result.
    NotASong,
}

use Read::{NotASong, Song};

/// `(video title, channel name, what we must read)`.
const TABLE: &[(&str, &str, Read)] = &[
    // K-pop: 1theK's `[MV] Artist(별명) _ Title(제목)`, with and without spaces.
    (
        "[MV] IU(아이유)_LILAC(라일락)",
        "1theK (원더케이)",
        Song(&["IU"], "LILAC(라일락)"),
    ),
    (
        "[MV] IU(아이유) _ Good Day(좋은 날)",
        "1theK (원더케이)",
        Song(&["IU"], "Good Day(좋은 날)"),
    ),
    (
        "[MV] 아이유(IU) _ 좋은 날(Good Day)",
        "1theK (원더케이)",
        Song(&["아이유"], "좋은 날(Good Day)"),
    ),
    (
        "[MV] (여자)아이들((G)I-DLE) _ TOMBOY",
        "1theK (원더케이)",
        Song(&["(여자)아이들"], "TOMBOY"),
    ),
    (
        "[MV] 태연 (TAEYEON) - INVU",
        "1theK (원더케이)",
        Song(&["태연"], "INVU"),
    ),
    // K-pop: the labels' `Artist 'Title' Official MV`.
    (
        "IU &#39;Love wins all&#39; MV",
        "이지금 [IU Official]",
        Song(&["IU"], "Love wins all"),
    ),
    (
        "[IU] &#39;Love poem&#39; Live Clip",
        "이지금 [IU Official]",
        Song(&["IU"], "Love poem"),
    ),
    (
        "Love wins all [가사/Lyrics]",
        "이지금 [IU Official]",
        Song(&["IU"], "Love wins all"),
    ),
    (
        "IU &quot;Blueming&quot; M/V",
        "이지금 [IU Official]",
        Song(&["IU"], "Blueming"),
    ),
    (
        "BTS (방탄소년단) &#39;Dynamite&#39; Official MV",
        "HYBE LABELS",
        Song(&["BTS"], "Dynamite"),
    ),
    (
        "NewJeans (뉴진스) &#39;Super Shy&#39; Official MV",
        "HYBE LABELS",
        Song(&["NewJeans"], "Super Shy"),
    ),
    (
        "NewJeans (뉴진스) &#39;Ditto&#39; Official MV (side A)",
        "HYBE LABELS",
        Song(&["NewJeans"], "Ditto"),
    ),
    (
        "SEVENTEEN (세븐틴) &#39;손오공&#39; Official MV",
        "HYBE LABELS",
        Song(&["SEVENTEEN"], "손오공"),
    ),
    (
        "BLACKPINK - &#39;뚜두뚜두 (DDU-DU DDU-DU)&#39; M/V",
        "BLACKPINK",
        Song(&["BLACKPINK"], "뚜두뚜두 (DDU-DU DDU-DU)"),
    ),
    (
        "Stray Kids &quot;특(S-Class)&quot; M/V",
        "JYP Entertainment",
        Song(&["Stray Kids"], "특(S-Class)"),
    ),
    (
        "TWICE &quot;Feel Special&quot; M/V",
        "JYP Entertainment",
        Song(&["TWICE"], "Feel Special"),
    ),
    (
        "aespa 에스파 &#39;Supernova&#39; MV",
        "SMTOWN",
        Song(&["aespa"], "Supernova"),
    ),
    (
        "(여자)아이들((G)I-DLE) - &#39;퀸카 (Queencard)&#39; Official Music Video",
        "(G)I-DLE (여자)아이들 (Official YouTube Channel)",
        Song(&["(여자)아이들"], "퀸카 (Queencard)"),
    ),
    (
        "PSY - GANGNAM STYLE(강남스타일) M/V",
        "officialpsy",
        Song(&["PSY"], "GANGNAM STYLE(강남스타일)"),
    ),
    (
        "IU &#39;Blueming&#39; Live Clip (2019 IU Tour Concert &#39;Love, poem&#39;)",
        "이지금 [IU Official]",
        Song(&["IU"], "Blueming"),
    ),
    // K-pop: topic channels and fan lyric uploads.
    ("밤편지", "IU - Topic", Song(&["IU"], "밤편지")),
    (
        "IU - Through the Night (밤편지) [Han/Rom/Eng Lyrics]",
        "Lyrics Planet",
        Song(&["IU"], "Through the Night (밤편지)"),
    ),
    (
        "BTS (방탄소년단) - Spring Day (봄날) (Color Coded Lyrics Eng/Rom/Han)",
        "Kpop Lyrics",
        Song(&["BTS"], "Spring Day (봄날)"),
    ),
    // K-pop: not songs.
    (
        "[예능연구소] 아이브 직캠 &#39;I AM&#39; (IVE FanCam) @MBC Music Core 230415",
        "MBCkpop",
        NotASong,
    ),
    (
        "NewJeans (뉴진스) &#39;Supernatural&#39; Official MV Teaser",
        "HYBE LABELS",
        NotASong,
    ),
    (
        "BTS (방탄소년단) &#39;Dynamite&#39; MV Making Film",
        "BANGTANTV",
        NotASong,
    ),
    (
        "[Playlist] 아이유 노래모음 (IU Best Songs)",
        "Music Lover",
        NotASong,
    ),
    // J-pop.
    (
        "YOASOBI「アイドル」 Official Music Video",
        "Ayase / YOASOBI",
        Song(&["YOASOBI"], "アイドル"),
    ),
    (
        "米津玄師 MV「Lemon」",
        "Kenshi Yonezu 米津玄師",
        Song(&["米津玄師"], "Lemon"),
    ),
    (
        "Official髭男dism - Pretender［Official Video］",
        "Official髭男dism",
        Song(&["Official髭男dism"], "Pretender"),
    ),
    (
        "LiSA 『紅蓮華』 -MUSiC CLiP-",
        "LiSA Official YouTube",
        Song(&["LiSA"], "紅蓮華"),
    ),
    (
        "藤井 風 (Fujii Kaze) - &#39;Shinunoga E-Wa&#39; Official Video",
        "Fujii Kaze",
        Song(&["藤井 風"], "Shinunoga E-Wa"),
    ),
    (
        "Mrs. GREEN APPLE - ケセラセラ (Official Music Video)",
        "Mrs. GREEN APPLE",
        Song(&["Mrs. GREEN APPLE"], "ケセラセラ"),
    ),
    (
        "King Gnu - 白日",
        "King Gnu official YouTube channel",
        Song(&["King Gnu"], "白日"),
    ),
    (
        "アイドル",
        "YOASOBI - Topic",
        Song(&["YOASOBI"], "アイドル"),
    ),
    // Western.
    (
        "Daft Punk - One More Time (Official Video)",
        "Daft Punk",
        Song(&["Daft Punk"], "One More Time"),
    ),
    (
        "Rick Astley - Never Gonna Give You Up (Official Music Video)",
        "Rick Astley",
        Song(&["Rick Astley"], "Never Gonna Give You Up"),
    ),
    (
        "Queen – Bohemian Rhapsody (Official Video Remastered)",
        "Queen Official",
        Song(&["Queen"], "Bohemian Rhapsody"),
    ),
    (
        "The Weeknd - Blinding Lights (Official Audio)",
        "TheWeekndVEVO",
        Song(&["The Weeknd"], "Blinding Lights"),
    ),
    (
        "Blinding Lights",
        "The Weeknd - Topic",
        Song(&["The Weeknd"], "Blinding Lights"),
    ),
    (
        "Billie Eilish - BIRDS OF A FEATHER (Official Lyric Video)",
        "BillieEilishVEVO",
        Song(&["Billie Eilish"], "BIRDS OF A FEATHER"),
    ),
    (
        "Lewis Capaldi - Someone You Loved (Lyrics)",
        "7clouds",
        Song(&["Lewis Capaldi"], "Someone You Loved"),
    ),
    (
        "Mark Ronson - Uptown Funk (Official Video) ft. Bruno Mars",
        "Mark Ronson",
        Song(&["Mark Ronson", "Bruno Mars"], "Uptown Funk"),
    ),
    (
        "Adele - Someone Like You (Live at the BRIT Awards 2011)",
        "Adele",
        Song(
            &["Adele"],
            "Someone Like You (Live at the BRIT Awards 2011)",
        ),
    ),
    (
        "Guns N&#39; Roses - Sweet Child O&#39; Mine (Official Music Video)",
        "GunsNRosesVEVO",
        Song(&["Guns N' Roses"], "Sweet Child O' Mine"),
    ),
    (
        "ROSÉ &amp; Bruno Mars - APT. (Official Music Video)",
        "ROSÉ",
        Song(&["ROSÉ", "Bruno Mars"], "APT."),
    ),
    (
        "Ditto - NewJeans | Official Audio",
        "NewJeans - Topic",
        Song(&["NewJeans"], "Ditto"),
    ),
    (
        "Rick Astley - Never Gonna Give You Up (Official Music Video) REACTION",
        "First Time Hearing",
        NotASong,
    ),
    // Latin.
    (
        "Luis Fonsi - Despacito ft. Daddy Yankee",
        "LuisFonsiVEVO",
        Song(&["Luis Fonsi", "Daddy Yankee"], "Despacito"),
    ),
    (
        "Shakira - Hips Don&#39;t Lie (Official 4K Video) ft. Wyclef Jean",
        "shakiraVEVO",
        Song(&["Shakira", "Wyclef Jean"], "Hips Don't Lie"),
    ),
    (
        "Daddy Yankee - Gasolina (Video Oficial)",
        "Daddy Yankee",
        Song(&["Daddy Yankee"], "Gasolina"),
    ),
    (
        "Bad Bunny - Tití Me Preguntó (Video Oficial) | Un Verano Sin Ti",
        "Bad Bunny",
        Song(&["Bad Bunny"], "Tití Me Preguntó"),
    ),
    (
        "KAROL G, Peso Pluma - QLONA (Official Video)",
        "KarolGVEVO",
        Song(&["KAROL G", "Peso Pluma"], "QLONA"),
    ),
    (
        "ROSALÍA - DESPECHÁ (Official Video)",
        "ROSALÍA",
        Song(&["ROSALÍA"], "DESPECHÁ"),
    ),
    (
        "Bad Bunny - DtMF (Letra/Lyrics)",
        "Letras Latinas",
        Song(&["Bad Bunny"], "DtMF"),
    ),
    (
        "Monaco",
        "Bad Bunny - Topic",
        Song(&["Bad Bunny"], "Monaco"),
    ),
];

#[test]
fn every_real_title_in_the_table_reads_as_expected() {
    assert!(TABLE.len() >= 40, "the table keeps at least 40 titles");
    let mut wrong = Vec::new();
    for (title, channel, expected) in TABLE {
        let got = split_title(title, channel).map(|s| (s.artists, s.title));
        let want = match expected {
            Song(artists, song) => Some((
                artists.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
                song.to_string(),
            )),
            NotASong => None,
        };
        if got != want {
            wrong.push(format!(
                "{title:?} on {channel:?}: read {got:?}, want {want:?}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} misread:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
