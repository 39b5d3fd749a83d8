//! Marketplace: cities, users, products, payment methods, orders and their items.

use chrono::{Duration, NaiveDateTime};
use rand::Rng;

use super::gen::{lognormal, money, recent, rng, scaled, skewed, weighted, Columns};
use super::Tables;

pub const TABLES: &[&str] = &[
    "cities",
    "users",
    "products",
    "payment_methods",
    "orders",
    "order_items",
];

const CITIES: &[(&str, &str, &str)] = &[
    ("Москва", "Moscow", "Центральный"),
    ("Санкт-Петербург", "Saint Petersburg", "Северо-Западный"),
    ("Новосибирск", "Novosibirsk", "Сибирский"),
    ("Екатеринбург", "Yekaterinburg", "Уральский"),
    ("Казань", "Kazan", "Приволжский"),
    ("Нижний Новгород", "Nizhny Novgorod", "Приволжский"),
    ("Челябинск", "Chelyabinsk", "Уральский"),
    ("Самара", "Samara", "Приволжский"),
    ("Ростов-на-Дону", "Rostov-on-Don", "Южный"),
    ("Краснодар", "Krasnodar", "Южный"),
    ("Воронеж", "Voronezh", "Центральный"),
    ("Пермь", "Perm", "Приволжский"),
    ("Уфа", "Ufa", "Приволжский"),
    ("Владивосток", "Vladivostok", "Дальневосточный"),
    ("Калининград", "Kaliningrad", "Северо-Западный"),
];

const FIRST: &[&str] = &[
    "Александр",
    "Мария",
    "Дмитрий",
    "Анна",
    "Сергей",
    "Елена",
    "Андрей",
    "Ольга",
    "Алексей",
    "Наталья",
    "Иван",
    "Татьяна",
    "Михаил",
    "Екатерина",
    "Никита",
    "Дарья",
];
const LAST: &[&str] = &[
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
];
const LATIN: &[&str] = &[
    "alex",
    "maria",
    "dmitry",
    "anna",
    "sergey",
    "elena",
    "andrey",
    "olga",
    "alexey",
    "natalia",
    "ivan",
    "tatiana",
    "mikhail",
    "ekaterina",
    "nikita",
    "daria",
];

/// (category, median price, brands, items)
const CATEGORIES: &[(&str, f64, &[&str], &[&str])] = &[
    (
        "Электроника",
        15000.0,
        &["Xiaomi", "Samsung", "Apple", "Huawei", "Realme"],
        &["Смартфон", "Наушники", "Планшет", "Умные часы", "Powerbank"],
    ),
    (
        "Одежда",
        2500.0,
        &["Gloria Jeans", "Befree", "Lime", "Ostin"],
        &["Футболка", "Джинсы", "Куртка", "Платье", "Свитер"],
    ),
    (
        "Дом",
        1800.0,
        &["Hoff", "Tescoma", "Икеа", "Home Style"],
        &[
            "Сковорода",
            "Плед",
            "Лампа",
            "Набор полотенец",
            "Органайзер",
        ],
    ),
    (
        "Красота",
        900.0,
        &["L'Oréal", "Nivea", "Natura Siberica", "Garnier"],
        &["Шампунь", "Крем для лица", "Тушь", "Бальзам", "Маска"],
    ),
    (
        "Детские товары",
        1500.0,
        &["Lego", "Chicco", "Hasbro", "Мир детства"],
        &["Конструктор", "Пазл", "Коляска", "Кукла", "Настольная игра"],
    ),
    (
        "Спорт",
        3000.0,
        &["Demix", "Nike", "Adidas", "Torres"],
        &["Кроссовки", "Коврик для йоги", "Гантели", "Мяч", "Велошлем"],
    ),
    (
        "Книги",
        600.0,
        &["Эксмо", "АСТ", "МИФ", "Азбука"],
        &[
            "Роман",
            "Детектив",
            "Учебник",
            "Комикс",
            "Сборник рассказов",
        ],
    ),
];

const PAYMENT_METHODS: &[(&str, &str, f64)] = &[
    ("card", "Банковская карта", 55.0),
    ("sbp", "СБП", 20.0),
    ("cash_on_delivery", "Наличными при получении", 8.0),
    ("installments", "Рассрочка", 7.0),
    ("wallet", "Кошелёк", 10.0),
];

pub fn generate(scale: f64, now: NaiveDateTime) -> Tables {
    let mut r = rng(2);
    let cities = Columns::new()
        .i32("city_id", (1..=CITIES.len() as i32).collect())
        .str("name", CITIES.iter().map(|c| c.0).collect())
        .str("name_en", CITIES.iter().map(|c| c.1).collect())
        .str("region", CITIES.iter().map(|c| c.2).collect())
        .build();

    let n_users = scaled(20_000, scale, 50);
    let (mut names, mut emails, mut user_city, mut registered) = (vec![], vec![], vec![], vec![]);
    for id in 1..=n_users {
        let f = r.random_range(0..FIRST.len());
        let last = LAST[r.random_range(0..LAST.len())];
        // Russian surnames take -а for women; the list alternates male/female first names.
        let last = if f % 2 == 1 {
            format!("{last}а")
        } else {
            last.to_string()
        };
        names.push(format!("{} {last}", FIRST[f]));
        emails.push(format!("{}{id}@example.ru", LATIN[f]));
        user_city.push(skewed(&mut r, CITIES.len(), 2.0) as i32 + 1);
        registered.push(recent(&mut r, now, 720));
    }
    let users = Columns::new()
        .i64("user_id", (1..=n_users as i64).collect())
        .str("full_name", names)
        .str("email", emails)
        .i32("city_id", user_city.clone())
        .ts("registered_at", registered)
        .build();

    let n_products = scaled(3_000, scale, 30);
    let (mut titles, mut cats, mut brands, mut prices) = (vec![], vec![], vec![], vec![]);
    for i in 0..n_products {
        let (cat, median, bs, items) = CATEGORIES[skewed(&mut r, CATEGORIES.len(), 1.3)];
        let brand = bs[r.random_range(0..bs.len())];
        titles.push(format!("{} {brand} {}", items[i % items.len()], 100 + i));
        cats.push(cat);
        brands.push(brand);
        prices.push(money(lognormal(&mut r, median, 0.6)));
    }
    let products = Columns::new()
        .i64("product_id", (1..=n_products as i64).collect())
        .str("title", titles)
        .str("category", cats)
        .str("brand", brands)
        .decimal("list_price", 12, prices.clone())
        .build();

    let methods = Columns::new()
        .i32(
            "payment_method_id",
            (1..=PAYMENT_METHODS.len() as i32).collect(),
        )
        .str("code", PAYMENT_METHODS.iter().map(|m| m.0).collect())
        .str("name", PAYMENT_METHODS.iter().map(|m| m.1).collect())
        .build();
    let method_weights: Vec<(i32, f64)> = PAYMENT_METHODS
        .iter()
        .enumerate()
        .map(|(i, m)| (i as i32 + 1, m.2))
        .collect();

    let n_orders = scaled(100_000, scale, 200);
    let mut created: Vec<NaiveDateTime> = (0..n_orders).map(|_| recent(&mut r, now, 180)).collect();
    created.sort();
    let (mut order_user, mut order_city, mut order_method, mut statuses, mut delivered) =
        (vec![], vec![], vec![], vec![], vec![]);
    let (mut item_order, mut item_line, mut item_product, mut item_qty, mut item_price) =
        (vec![], vec![], vec![], vec![], vec![]);
    for (i, at) in created.iter().enumerate() {
        let user = skewed(&mut r, n_users, 1.8);
        order_user.push(user as i64 + 1);
        order_city.push(if r.random_bool(0.9) {
            user_city[user]
        } else {
            r.random_range(1..=CITIES.len() as i32)
        });
        order_method.push(*weighted(&mut r, &method_weights));
        let age_days = (now - *at).num_days();
        let mut status = if age_days < 2 {
            *weighted(
                &mut r,
                &[
                    ("created", 30.0),
                    ("paid", 40.0),
                    ("shipped", 20.0),
                    ("cancelled", 10.0),
                ],
            )
        } else {
            *weighted(
                &mut r,
                &[
                    ("delivered", 68.0),
                    ("shipped", 4.0),
                    ("paid", 3.0),
                    ("created", 2.0),
                    ("cancelled", 15.0),
                    ("returned", 8.0),
                ],
            )
        };
        let mut delivered_at = None;
        if status == "delivered" || status == "returned" {
            let t = *at + Duration::hours(r.random_range(20..24 * 7));
            if t < now {
                delivered_at = (status == "delivered").then_some(t);
            } else {
                status = "shipped";
            }
        }
        statuses.push(status);
        delivered.push(delivered_at);
        let lines = 1 + skewed(&mut r, 5, 1.7);
        for line in 1..=lines {
            let product = skewed(&mut r, n_products, 1.6);
            item_order.push(i as i64 + 1);
            item_line.push(line as i32);
            item_product.push(product as i64 + 1);
            item_qty.push(*weighted(
                &mut r,
                &[(1, 75.0), (2, 17.0), (3, 6.0), (5, 2.0)],
            ));
            let discount = 1.0 - 0.05 * r.random_range(0..5) as f64;
            item_price.push((prices[product] as f64 * discount).round() as i128);
        }
    }
    let orders = Columns::new()
        .i64("order_id", (1..=n_orders as i64).collect())
        .i64("user_id", order_user)
        .i32("city_id", order_city)
        .i32("payment_method_id", order_method)
        .str("status", statuses)
        .ts("created_at", created)
        .ts_opt("delivered_at", delivered)
        .build();
    let items = Columns::new()
        .i64("order_id", item_order)
        .i32("line_no", item_line)
        .i64("product_id", item_product)
        .i32("quantity", item_qty)
        .decimal("unit_price", 12, item_price)
        .build();
    vec![
        ("cities", cities),
        ("users", users),
        ("products", products),
        ("payment_methods", methods),
        ("orders", orders),
        ("order_items", items),
    ]
}
