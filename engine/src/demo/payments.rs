//! Acquiring: MCC categories, merchants, card transactions.

use chrono::{Duration, NaiveDateTime};
use rand::Rng;

use super::gen::{lognormal, money, recent, rng, scaled, skewed, weighted, Columns};
use super::Tables;

pub const TABLES: &[&str] = &["mcc_categories", "merchants", "transactions"];

/// (mcc, category, category_ru, description, typical ticket in RUB, brands)
type Mcc = (
    i32,
    &'static str,
    &'static str,
    &'static str,
    f64,
    &'static [&'static str],
);

const MCC: &[Mcc] = &[
    (
        5411,
        "Grocery",
        "Продукты",
        "Grocery Stores, Supermarkets",
        900.0,
        &[
            "Пятёрочка",
            "Перекрёсток",
            "Магнит",
            "ВкусВилл",
            "Лента",
            "Ашан",
        ],
    ),
    (
        5812,
        "Restaurants",
        "Рестораны",
        "Eating Places, Restaurants",
        2200.0,
        &["Шоколадница", "Теремок", "Додо Пицца", "Якитория", "Тануки"],
    ),
    (
        5814,
        "Fast food",
        "Фастфуд",
        "Fast Food Restaurants",
        450.0,
        &["Вкусно — и точка", "KFC", "Бургер Кинг", "Крошка Картошка"],
    ),
    (
        5541,
        "Fuel",
        "Топливо",
        "Service Stations",
        2500.0,
        &["Лукойл", "Газпромнефть", "Роснефть", "Татнефть"],
    ),
    (
        5912,
        "Pharmacy",
        "Аптеки",
        "Drug Stores and Pharmacies",
        700.0,
        &["Ригла", "36,6", "Асна", "Горздрав"],
    ),
    (
        5311,
        "Department stores",
        "Универмаги",
        "Department Stores",
        3500.0,
        &["ЦУМ", "ГУМ", "Универмаг Московский"],
    ),
    (
        5651,
        "Clothing",
        "Одежда",
        "Family Clothing Stores",
        3800.0,
        &["Gloria Jeans", "Befree", "Lime", "Zarina", "Спортмастер"],
    ),
    (
        5732,
        "Electronics",
        "Электроника",
        "Electronics Stores",
        12000.0,
        &["М.Видео", "Эльдорадо", "DNS", "Ситилинк"],
    ),
    (
        4121,
        "Taxi",
        "Такси",
        "Taxicabs and Limousines",
        550.0,
        &["Яндекс Go", "Ситимобил", "Максим"],
    ),
    (
        4111,
        "Transport",
        "Транспорт",
        "Commuter Transport, Ferries",
        80.0,
        &["Московский метрополитен", "Мосгортранс", "ЦППК"],
    ),
    (
        7832,
        "Cinema",
        "Кино",
        "Motion Picture Theaters",
        900.0,
        &["Каро", "Синема Парк", "Формула Кино"],
    ),
    (
        5999,
        "Retail",
        "Розница",
        "Miscellaneous and Specialty Retail Stores",
        1500.0,
        &["Ozon", "Wildberries", "Fix Price", "Золотое яблоко"],
    ),
    (
        4814,
        "Telecom",
        "Связь",
        "Telecommunication Services",
        600.0,
        &["МТС", "Билайн", "МегаФон", "Tele2"],
    ),
    (
        5977,
        "Beauty",
        "Красота",
        "Cosmetic Stores",
        1800.0,
        &["Летуаль", "Рив Гош", "Подружка"],
    ),
    (
        7011,
        "Hotels",
        "Отели",
        "Hotels, Motels, Resorts",
        9000.0,
        &["Cosmos Hotel", "Азимут", "Измайлово"],
    ),
    (
        5942,
        "Books",
        "Книги",
        "Book Stores",
        950.0,
        &["Читай-город", "Буквоед", "Москва (книжный)"],
    ),
    (
        5941,
        "Sports",
        "Спорт",
        "Sporting Goods Stores",
        4200.0,
        &["Спортмастер", "Декатлон", "Кант"],
    ),
    (
        4511,
        "Airlines",
        "Авиабилеты",
        "Airlines, Air Carriers",
        14000.0,
        &["Аэрофлот", "S7 Airlines", "Победа", "Уральские авиалинии"],
    ),
];

const CITIES: &[(&str, f64)] = &[
    ("Москва", 30.0),
    ("Санкт-Петербург", 15.0),
    ("Новосибирск", 6.0),
    ("Екатеринбург", 6.0),
    ("Казань", 5.0),
    ("Нижний Новгород", 4.0),
    ("Самара", 3.5),
    ("Ростов-на-Дону", 3.5),
    ("Краснодар", 4.0),
    ("Воронеж", 2.5),
    ("Пермь", 2.5),
    ("Уфа", 2.5),
    ("Алматы", 2.0),
    ("Минск", 2.0),
];

pub fn generate(scale: f64, now: NaiveDateTime) -> Tables {
    let mut r = rng(1);
    let mcc = Columns::new()
        .i32("mcc", MCC.iter().map(|m| m.0).collect())
        .str("category", MCC.iter().map(|m| m.1).collect())
        .str("category_ru", MCC.iter().map(|m| m.2).collect())
        .str("description", MCC.iter().map(|m| m.3).collect())
        .build();

    let n_merchants = scaled(2_000, scale, 40);
    let mut merchant_mcc = Vec::with_capacity(n_merchants);
    let (mut names, mut cities, mut countries, mut onboarded) = (vec![], vec![], vec![], vec![]);
    for i in 0..n_merchants {
        let m = &MCC[skewed(&mut r, MCC.len(), 1.6)];
        let city = *weighted(&mut r, CITIES);
        names.push(format!("{} #{}", m.5[i % m.5.len()], i / m.5.len() + 1));
        countries.push(match city {
            "Алматы" => "KZ",
            "Минск" => "BY",
            _ => "RU",
        });
        cities.push(city);
        onboarded.push((now - Duration::days(r.random_range(30..1500))).date());
        merchant_mcc.push(m);
    }
    let merchants = Columns::new()
        .i64("merchant_id", (1..=n_merchants as i64).collect())
        .str("name", names)
        .i32("mcc", merchant_mcc.iter().map(|m| m.0).collect())
        .str("city", cities)
        .str("country", countries)
        .date("onboarded_at", onboarded)
        .build();

    let n_tx = scaled(400_000, scale, 500);
    let n_cards = scaled(60_000, scale, 50);
    let mut times: Vec<NaiveDateTime> = (0..n_tx).map(|_| recent(&mut r, now, 180)).collect();
    times.sort();
    let (mut merchant_ids, mut cards, mut amounts, mut statuses, mut channels) =
        (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..n_tx {
        let merchant = skewed(&mut r, n_merchants, 2.2);
        let m = merchant_mcc[merchant];
        merchant_ids.push(merchant as i64 + 1);
        cards.push(skewed(&mut r, n_cards, 1.5) as i64 + 1_000_000);
        amounts.push(money(lognormal(&mut r, m.4, 0.8)));
        statuses.push(*weighted(
            &mut r,
            &[("approved", 90.0), ("declined", 7.0), ("refunded", 3.0)],
        ));
        let channel = match m.1 {
            "Retail" | "Airlines" | "Telecom" => weighted(
                &mut r,
                &[("ecom", 70.0), ("recurring", 20.0), ("pos", 10.0)],
            ),
            _ => weighted(&mut r, &[("pos", 75.0), ("ecom", 20.0), ("recurring", 5.0)]),
        };
        channels.push(*channel);
    }
    let transactions = Columns::new()
        .i64("transaction_id", (1..=n_tx as i64).collect())
        .i64("merchant_id", merchant_ids)
        .i64("card_id", cards)
        .decimal("amount", 18, amounts)
        .str("status", statuses)
        .str("channel", channels)
        .ts("created_at", times)
        .build();
    vec![
        ("mcc_categories", mcc),
        ("merchants", merchants),
        ("transactions", transactions),
    ]
}
