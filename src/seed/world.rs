//! The demo's world, as data: countries with their names, cities, phones and
//! payment systems; devices; casino games; sports with their leagues, teams
//! and markets. The simulation in `players` and `sportsbook` only draws from
//! these tables, so making the demo richer is adding rows here.

/// How a payment system identifies the payer's account (the `requisite`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requisite {
    /// A masked card number whose first digit is the brand's: `411111******1234`.
    Card(char),
    /// The player's email address (e-wallets, Interac).
    Email,
    /// The player's phone number.
    Phone,
    /// A masked IBAN of the player's country.
    Iban,
    /// A masked Brazilian CPF, the usual PIX key.
    Cpf,
    /// A masked New Zealand bank account.
    NzAccount,
}

pub struct PaymentSystem {
    pub name: &'static str,
    pub requisite: Requisite,
    /// Prefix of the payment system's own invoice ids.
    pub invoice: &'static str,
    /// Pays out withdrawals too (otherwise they go by bank transfer).
    pub withdraws: bool,
}

const fn pay(
    name: &'static str,
    requisite: Requisite,
    invoice: &'static str,
    withdraws: bool,
) -> PaymentSystem {
    PaymentSystem {
        name,
        requisite,
        invoice,
        withdraws,
    }
}

pub const VISA: PaymentSystem = pay("Visa", Requisite::Card('4'), "ch_", true);
pub const MASTERCARD: PaymentSystem = pay("Mastercard", Requisite::Card('5'), "ch_", true);
pub const SKRILL: PaymentSystem = pay("Skrill", Requisite::Email, "SKR", true);
pub const TRUSTLY: PaymentSystem = pay("Trustly", Requisite::Iban, "TR", true);
pub const PIX: PaymentSystem = pay("PIX", Requisite::Cpf, "E1803", true);
pub const INTERAC: PaymentSystem = pay("Interac", Requisite::Email, "CA", true);
pub const MUCHBETTER: PaymentSystem = pay("MuchBetter", Requisite::Phone, "MB", true);
pub const POLI: PaymentSystem = pay("POLi", Requisite::NzAccount, "PL", false);
/// Where withdrawals go when the deposit method cannot pay out.
pub const BANK_TRANSFER_NZ: PaymentSystem = pay("Bank transfer", Requisite::NzAccount, "BT", true);

pub struct Country {
    pub code: &'static str,
    pub currency: &'static str,
    /// Typical amounts are the euro amounts times this.
    pub money_factor: i64,
    /// Locales, the first the usual one; cities listed in `second_locale_cities` use the second.
    pub locales: &'static [&'static str],
    pub second_locale_cities: &'static [&'static str],
    pub cities: &'static [&'static str],
    /// Mobile phone prefixes (E.164, with country code) and how many digits follow.
    pub phone_prefixes: &'static [&'static str],
    pub phone_digits: u32,
    pub male: &'static [&'static str],
    pub female: &'static [&'static str],
    pub last: &'static [&'static str],
    /// First octets of the country's consumer IP ranges.
    pub ip_octets: &'static [u8],
    /// Deposit methods, most used first.
    pub payments: &'static [&'static PaymentSystem],
    /// Share of the players, in percent.
    pub weight: u32,
}

pub const COUNTRIES: &[Country] = &[
    Country {
        code: "DE",
        currency: "EUR",
        money_factor: 1,
        locales: &["de_DE"],
        second_locale_cities: &[],
        cities: &[
            "Berlin",
            "Hamburg",
            "München",
            "Köln",
            "Frankfurt am Main",
            "Stuttgart",
            "Düsseldorf",
            "Leipzig",
        ],
        phone_prefixes: &["+49151", "+49160", "+49170", "+49176"],
        phone_digits: 8,
        male: &[
            "Lukas",
            "Leon",
            "Finn",
            "Jonas",
            "Maximilian",
            "Felix",
            "Paul",
            "Tobias",
        ],
        female: &[
            "Anna", "Lena", "Lea", "Hannah", "Laura", "Sophie", "Marie", "Julia",
        ],
        last: &[
            "Müller",
            "Schmidt",
            "Schneider",
            "Fischer",
            "Weber",
            "Meyer",
            "Wagner",
            "Becker",
            "Hoffmann",
            "Schäfer",
        ],
        ip_octets: &[79, 84, 91, 93],
        payments: &[&VISA, &TRUSTLY, &MASTERCARD, &SKRILL],
        weight: 25,
    },
    Country {
        code: "FI",
        currency: "EUR",
        money_factor: 1,
        locales: &["fi_FI", "sv_FI"],
        second_locale_cities: &["Vaasa"],
        cities: &[
            "Helsinki",
            "Espoo",
            "Tampere",
            "Vantaa",
            "Oulu",
            "Turku",
            "Jyväskylä",
            "Vaasa",
        ],
        phone_prefixes: &["+35840", "+35841", "+35844", "+35850"],
        phone_digits: 7,
        male: &[
            "Juhani", "Mikko", "Matti", "Antti", "Ville", "Eetu", "Onni", "Jari",
        ],
        female: &[
            "Aino", "Emma", "Sofia", "Helmi", "Maria", "Johanna", "Elina", "Laura",
        ],
        last: &[
            "Korhonen",
            "Virtanen",
            "Mäkinen",
            "Nieminen",
            "Mäkelä",
            "Hämäläinen",
            "Laine",
            "Heikkinen",
            "Koskinen",
            "Järvinen",
        ],
        ip_octets: &[85, 88, 91, 194],
        payments: &[&TRUSTLY, &VISA, &MASTERCARD, &SKRILL],
        weight: 15,
    },
    Country {
        code: "BR",
        currency: "BRL",
        money_factor: 5,
        locales: &["pt_BR"],
        second_locale_cities: &[],
        cities: &[
            "São Paulo",
            "Rio de Janeiro",
            "Belo Horizonte",
            "Curitiba",
            "Porto Alegre",
            "Salvador",
            "Recife",
            "Fortaleza",
        ],
        phone_prefixes: &["+55119", "+55219", "+55319", "+55419", "+55519"],
        phone_digits: 8,
        male: &[
            "João", "Pedro", "Lucas", "Gabriel", "Matheus", "Rafael", "Gustavo", "Felipe",
        ],
        female: &[
            "Maria", "Ana", "Juliana", "Mariana", "Fernanda", "Beatriz", "Camila", "Larissa",
        ],
        last: &[
            "Silva",
            "Santos",
            "Oliveira",
            "Souza",
            "Rodrigues",
            "Ferreira",
            "Alves",
            "Pereira",
            "Lima",
            "Gomes",
        ],
        ip_octets: &[177, 179, 189, 201],
        payments: &[&PIX, &MASTERCARD, &VISA],
        weight: 25,
    },
    Country {
        code: "CA",
        currency: "CAD",
        money_factor: 1,
        locales: &["en_CA", "fr_CA"],
        second_locale_cities: &["Montréal", "Québec City"],
        cities: &[
            "Toronto",
            "Vancouver",
            "Montréal",
            "Calgary",
            "Ottawa",
            "Edmonton",
            "Québec City",
            "Winnipeg",
        ],
        phone_prefixes: &["+1416", "+1647", "+1604", "+1514", "+1403", "+1613"],
        phone_digits: 7,
        male: &[
            "Liam", "Noah", "William", "Lucas", "Benjamin", "Ethan", "Olivier", "Félix",
        ],
        female: &[
            "Olivia",
            "Emma",
            "Charlotte",
            "Amelia",
            "Chloé",
            "Léa",
            "Ava",
            "Sophia",
        ],
        last: &[
            "Smith",
            "Brown",
            "Tremblay",
            "Martin",
            "Roy",
            "Wilson",
            "MacDonald",
            "Gagnon",
            "Taylor",
            "Campbell",
        ],
        ip_octets: &[24, 99, 142, 174],
        payments: &[&INTERAC, &VISA, &MASTERCARD, &MUCHBETTER],
        weight: 20,
    },
    Country {
        code: "NZ",
        currency: "NZD",
        money_factor: 2,
        locales: &["en_NZ"],
        second_locale_cities: &[],
        cities: &[
            "Auckland",
            "Wellington",
            "Christchurch",
            "Hamilton",
            "Tauranga",
            "Dunedin",
        ],
        phone_prefixes: &["+6421", "+6422", "+6427"],
        phone_digits: 7,
        male: &[
            "Oliver", "Jack", "Leo", "Noah", "George", "Nikau", "Mason", "Hunter",
        ],
        female: &[
            "Isla",
            "Charlotte",
            "Amelia",
            "Olivia",
            "Aria",
            "Mia",
            "Ruby",
            "Maia",
        ],
        last: &[
            "Smith", "Wilson", "Williams", "Brown", "Taylor", "Ngata", "Anderson", "Thompson",
            "Walker", "Parata",
        ],
        ip_octets: &[115, 121, 125, 203],
        payments: &[&POLI, &VISA, &MASTERCARD, &SKRILL],
        weight: 15,
    },
];

pub struct Device {
    pub user_agent: &'static str,
    /// The hosts it reaches the casino on: the main site, a mirror, the app's API.
    pub hosts: &'static [&'static str],
}

const WEB: &[&str] = &["space-vegas.com", "www.space-vegas.com", "space-vegas1.com"];
const MOBILE_WEB: &[&str] = &["m.space-vegas.com", "space-vegas1.com"];
const APP: &[&str] = &["api.space-vegas.com"];

pub const DEVICES: &[Device] = &[
    Device { user_agent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", hosts: WEB },
    Device { user_agent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", hosts: WEB },
    Device { user_agent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", hosts: WEB },
    Device { user_agent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", hosts: WEB },
    Device { user_agent: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", hosts: MOBILE_WEB },
    Device { user_agent: "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", hosts: MOBILE_WEB },
    Device { user_agent: "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36", hosts: MOBILE_WEB },
    Device { user_agent: "SpaceVegas/4.12.0 (iPhone; iOS 18.1; Scale/3.00)", hosts: APP },
    Device { user_agent: "SpaceVegas/4.12.0 (Android 14; Pixel 8)", hosts: APP },
];

/// Where players come from: `traffic_source` and the shape of its `ref_code`.
pub const TRAFFIC: &[(&str, Option<&str>)] = &[
    ("direct", None),
    ("google", Some("gclid")),
    ("affiliate", Some("aff")),
    ("facebook", Some("fb")),
    ("email", Some("cmp")),
];

pub struct Game {
    pub code: &'static str,
    pub name: &'static str,
    pub vendor: &'static str,
    /// Smallest and largest usual bet, in euro cents.
    pub bets: (i64, i64),
    /// Chance of a win per round, in percent, and its multipliers (in tenths
    /// of the bet), each equally likely.
    pub win_percent: u32,
    pub multipliers: &'static [i64],
}

/// A slot's wins average 3.2 times the bet: at 30% of rounds, the usual
/// return to player of 96%.
const SLOT_WINS: &[i64] = &[5, 10, 10, 15, 20, 20, 25, 30, 50, 135];

pub const GAMES: &[Game] = &[
    Game {
        code: "starburst",
        name: "Starburst",
        vendor: "NetEnt",
        bets: (10, 200),
        win_percent: 30,
        multipliers: SLOT_WINS,
    },
    Game {
        code: "book-of-dead",
        name: "Book of Dead",
        vendor: "Play'n GO",
        bets: (10, 500),
        win_percent: 30,
        multipliers: SLOT_WINS,
    },
    Game {
        code: "sweet-bonanza",
        name: "Sweet Bonanza",
        vendor: "Pragmatic Play",
        bets: (20, 500),
        win_percent: 30,
        multipliers: SLOT_WINS,
    },
    Game {
        code: "gates-of-olympus",
        name: "Gates of Olympus",
        vendor: "Pragmatic Play",
        bets: (20, 500),
        win_percent: 30,
        multipliers: SLOT_WINS,
    },
    Game {
        code: "reactoonz",
        name: "Reactoonz",
        vendor: "Play'n GO",
        bets: (20, 300),
        win_percent: 30,
        multipliers: SLOT_WINS,
    },
    Game {
        code: "lightning-roulette",
        name: "Lightning Roulette",
        vendor: "Evolution",
        bets: (100, 2500),
        win_percent: 47,
        multipliers: &[20],
    },
    Game {
        code: "infinite-blackjack",
        name: "Infinite Blackjack",
        vendor: "Evolution",
        bets: (100, 5000),
        win_percent: 46,
        multipliers: &[20, 20, 20, 20, 25],
    },
    Game {
        code: "crazy-time",
        name: "Crazy Time",
        vendor: "Evolution",
        bets: (50, 1000),
        win_percent: 35,
        multipliers: &[15, 20, 20, 30, 30, 50],
    },
    Game {
        code: "aviator",
        name: "Aviator",
        vendor: "Spribe",
        bets: (20, 1000),
        win_percent: 44,
        multipliers: &[12, 15, 18, 20, 25, 40],
    },
];

/// A market's outcome a bet can pick, judged from the final score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    Home,
    Draw,
    Away,
    /// More than this many tenths of a point in total (e.g. 25 = over 2.5).
    Over(u32),
    Under(u32),
    BothScore,
}

impl Pick {
    pub fn wins(self, home: u32, away: u32) -> bool {
        match self {
            Pick::Home => home > away,
            Pick::Draw => home == away,
            Pick::Away => home < away,
            Pick::Over(line) => (home + away) * 10 > line,
            Pick::Under(line) => (home + away) * 10 < line,
            Pick::BothScore => home > 0 && away > 0,
        }
    }
}

/// A market and one of its picks, with the range of its odds in hundredths;
/// a selection's `market` reads `<name>: <pick>` (`1X2: Arsenal`, `Total
/// goals: Over 2.5`).
pub struct Market {
    pub name: &'static str,
    pub pick: Pick,
    pub odds: (i64, i64),
}

const fn market(name: &'static str, pick: Pick, odds: (i64, i64)) -> Market {
    Market { name, pick, odds }
}

pub struct Sport {
    pub id: &'static str,
    pub name: &'static str,
    /// How long a match lasts, in minutes.
    pub minutes: i64,
    /// The usual final scores of one side; a draw is settled as a draw.
    pub scores: &'static [u32],
    pub markets: &'static [Market],
}

pub const FOOTBALL: Sport = Sport {
    id: "1",
    name: "Football",
    minutes: 115,
    scores: &[0, 0, 1, 1, 1, 2, 2, 3, 4],
    markets: &[
        market("1X2", Pick::Home, (140, 320)),
        market("1X2", Pick::Draw, (300, 420)),
        market("1X2", Pick::Away, (180, 500)),
        market("Total goals", Pick::Over(25), (170, 220)),
        market("Total goals", Pick::Under(25), (165, 210)),
        market("Both teams to score", Pick::BothScore, (140, 180)),
    ],
};

pub const TENNIS: Sport = Sport {
    id: "2",
    name: "Tennis",
    minutes: 150,
    // Sets won in a best-of-three match; never a draw (see `Sport::score`).
    scores: &[0, 1, 2],
    markets: &[
        market("Match winner", Pick::Home, (130, 260)),
        market("Match winner", Pick::Away, (130, 260)),
        market("Total sets", Pick::Over(25), (160, 210)),
    ],
};

pub const ICE_HOCKEY: Sport = Sport {
    id: "3",
    name: "Ice Hockey",
    minutes: 150,
    scores: &[0, 1, 2, 2, 3, 3, 4, 5],
    markets: &[
        market("1X2", Pick::Home, (170, 300)),
        market("1X2", Pick::Draw, (380, 460)),
        market("1X2", Pick::Away, (200, 360)),
        market("Total goals", Pick::Over(55), (180, 230)),
    ],
};

pub const BASKETBALL: Sport = Sport {
    id: "4",
    name: "Basketball",
    minutes: 140,
    scores: &[92, 98, 104, 107, 110, 113, 116, 121, 128],
    markets: &[
        market("Winner", Pick::Home, (150, 240)),
        market("Winner", Pick::Away, (150, 240)),
        market("Total points", Pick::Over(2205), (185, 195)),
        market("Total points", Pick::Under(2205), (185, 195)),
    ],
};

impl Sport {
    /// A final score: (home, away). Tennis is best of three sets.
    pub fn score(&self, rng: &mut fastrand::Rng) -> (u32, u32) {
        if self.id == TENNIS.id {
            let loser = rng.u32(0..2);
            return if rng.bool() { (2, loser) } else { (loser, 2) };
        }
        let mut side = || self.scores[rng.usize(..self.scores.len())];
        let (home, away) = (side(), side());
        if self.id == BASKETBALL.id && home == away {
            (home + 3, away)
        } else {
            (home, away)
        }
    }
}

/// A competition that runs in rounds, each of which is one tournament.
pub struct League {
    pub name: &'static str,
    pub sport: &'static Sport,
    /// `None` for international competitions.
    pub country: Option<&'static str>,
    pub teams: &'static [&'static str],
    /// How long one round lasts, in hours.
    pub round_hours: i64,
}

pub const LEAGUES: &[League] = &[
    League {
        name: "Bundesliga",
        sport: &FOOTBALL,
        country: Some("DE"),
        round_hours: 54,
        teams: &[
            "Bayern München",
            "Borussia Dortmund",
            "Bayer Leverkusen",
            "RB Leipzig",
            "VfB Stuttgart",
            "Eintracht Frankfurt",
            "SC Freiburg",
            "VfL Wolfsburg",
            "1. FC Union Berlin",
            "Werder Bremen",
        ],
    },
    League {
        name: "Premier League",
        sport: &FOOTBALL,
        country: Some("GB"),
        round_hours: 78,
        teams: &[
            "Arsenal",
            "Chelsea",
            "Liverpool",
            "Manchester City",
            "Manchester United",
            "Tottenham Hotspur",
            "Newcastle United",
            "Aston Villa",
            "Brighton & Hove Albion",
            "West Ham United",
        ],
    },
    League {
        name: "Brasileirão Série A",
        sport: &FOOTBALL,
        country: Some("BR"),
        round_hours: 54,
        teams: &[
            "Flamengo",
            "Palmeiras",
            "Corinthians",
            "São Paulo",
            "Fluminense",
            "Grêmio",
            "Internacional",
            "Atlético Mineiro",
            "Botafogo",
            "Cruzeiro",
        ],
    },
    League {
        name: "UEFA Champions League",
        sport: &FOOTBALL,
        country: None,
        round_hours: 30,
        teams: &[
            "Real Madrid",
            "FC Barcelona",
            "Inter",
            "Juventus",
            "Paris Saint-Germain",
            "Benfica",
            "FC Porto",
            "Ajax",
        ],
    },
    League {
        name: "ATP Finals",
        sport: &TENNIS,
        country: Some("IT"),
        round_hours: 30,
        teams: &[
            "Sinner J.",
            "Alcaraz C.",
            "Zverev A.",
            "Medvedev D.",
            "Fritz T.",
            "Ruud C.",
            "de Minaur A.",
            "Rublev A.",
        ],
    },
    League {
        name: "WTA Finals",
        sport: &TENNIS,
        country: Some("SA"),
        round_hours: 30,
        teams: &[
            "Sabalenka A.",
            "Swiatek I.",
            "Gauff C.",
            "Rybakina E.",
            "Pegula J.",
            "Paolini J.",
            "Zheng Q.",
            "Navarro E.",
        ],
    },
    League {
        name: "NHL",
        sport: &ICE_HOCKEY,
        country: Some("CA"),
        round_hours: 24,
        teams: &[
            "Toronto Maple Leafs",
            "Montréal Canadiens",
            "Edmonton Oilers",
            "Vancouver Canucks",
            "Calgary Flames",
            "Ottawa Senators",
            "Winnipeg Jets",
            "Boston Bruins",
            "New York Rangers",
            "Florida Panthers",
        ],
    },
    League {
        name: "Liiga",
        sport: &ICE_HOCKEY,
        country: Some("FI"),
        round_hours: 24,
        teams: &[
            "Tappara", "Kärpät", "Ilves", "HIFK", "TPS", "Lukko", "Pelicans", "KalPa", "JYP",
            "SaiPa",
        ],
    },
    League {
        name: "DEL",
        sport: &ICE_HOCKEY,
        country: Some("DE"),
        round_hours: 30,
        teams: &[
            "Eisbären Berlin",
            "Adler Mannheim",
            "Red Bull München",
            "Kölner Haie",
            "ERC Ingolstadt",
            "Fischtown Pinguins",
        ],
    },
    League {
        name: "NBA",
        sport: &BASKETBALL,
        country: Some("US"),
        round_hours: 24,
        teams: &[
            "Boston Celtics",
            "Denver Nuggets",
            "Golden State Warriors",
            "Los Angeles Lakers",
            "Milwaukee Bucks",
            "Toronto Raptors",
            "Dallas Mavericks",
            "New York Knicks",
        ],
    },
    League {
        name: "EuroLeague",
        sport: &BASKETBALL,
        country: None,
        round_hours: 30,
        teams: &[
            "Real Madrid",
            "Panathinaikos",
            "Olympiacos",
            "Fenerbahçe",
            "Anadolu Efes",
            "Žalgiris",
            "Bayern München",
            "Partizan",
        ],
    },
];
