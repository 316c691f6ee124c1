// Every string the console shows, one dictionary per language. `t("key", {n: 3})` fills {n}.
// A key missing from a language falls back to English, and a key missing from English shows
// itself, so a gap is visible rather than blank.

const en = {
  app_name: "Skywarden",
  app_tagline: "City air-defence picture and public information",
  login_title: "Sign in to the operations console",
  login_user: "User",
  login_password: "Password",
  login_submit: "Sign in",
  login_failed: "Wrong user or password.",
  login_throttled: "Too many attempts. Wait a minute and try again.",
  login_error: "The server did not answer: {detail}",
  logout: "Sign out",
  lang_toggle: "RU",
  lang_toggle_title: "Русский интерфейс",

  role_viewer: "Viewer",
  role_duty_officer: "Duty officer",
  role_dispatcher: "Dispatcher",
  role_press_officer: "Press officer",
  role_approver: "Approver",
  role_admin: "Administrator",

  mode_exercise: "Exercise",
  mode_live: "Live",
  paused: "Paused",
  pause: "Pause",
  resume: "Resume",
  speed: "Speed",
  conn_live: "Connected",
  conn_connecting: "Connecting…",
  conn_lost: "Connection lost — reconnecting",
  conn_resync: "Resynchronising",
  search_placeholder: "Track, kill #, crew…  ( / )",
  search_none: "Nothing matches “{q}”",

  replay: "Replay",
  replay_live: "Live",
  replay_at: "Picture at {time}",
  replay_banner: "REPLAY — the picture at {time}, rebuilt from the log. Writes are off.",
  replay_back: "Back to live",
  replay_loading: "Loading…",

  panel_threats: "Threats",
  panel_airports: "Airports",
  panel_kills: "Kills",
  panel_crews: "Crews",
  panel_statements: "Statements",
  panel_alerts: "Alerts",
  panel_claims: "Claims",
  panel_sensors: "Sensors",

  threats_none: "No threats.",
  threat_to_zone: "to zone",
  threat_entry: "entry",
  threat_cpa: "CPA",
  threat_since: "A threat since",
  threat_ack: "Ack",
  threat_ack_title: "Acknowledge this threat (a)",
  threat_acked_by: "Ack: {who}",
  threat_unacked: "Not acknowledged",
  level_low: "Low",
  level_medium: "Medium",
  level_high: "High",
  level_critical: "Critical",

  airports_none: "No airports in the scenario.",
  airport_open: "Open",
  airport_restricted: "Restricted",
  airport_since: "since {time}",
  airport_quiet_left: "quiet {d} left",
  airport_closed_total: "closed {d}",
  airport_closed_title: "Time restricted tonight",

  kills_none: "No kills reported.",
  kill_near: "near {place}",
  kill_toward: "toward {place}",
  kill_withdrawn: "withdrawn",
  kill_withdraw: "Withdraw",
  kill_withdraw_reason: "Reason for withdrawing kill #{n}",
  kill_report: "Report kill",
  kill_report_hint: "Click the map where the drone came down (Esc cancels).",
  kill_report_confirm: "Report a kill at {lat}, {lon}?",

  crews_none: "No crews.",
  crew_eta: "ETA {d}",
  crew_site: "site {site}",
  crew_to_kill: "→ kill #{n}",
  crew_override: "Send to…",
  crew_override_pick: "Send {crew} to site",
  crew_recall: "Recall",
  crew_recall_reason: "Reason for recalling {crew}",
  crew_recall_offered: "Kill withdrawn — recall offered",
  crew_idle: "available",
  crew_status_available: "Available",
  crew_status_dispatched: "Dispatched",
  crew_status_en_route: "En route",
  crew_status_on_site: "On site",
  crew_status_wreckage_recovered: "Wreckage recovered",
  crew_status_site_closed: "Site closed",
  crew_status_recalled: "Recalled",

  statements_none: "No statements drafted yet.",
  st_state_drafted: "Draft",
  st_state_partially_approved: "Partly approved",
  st_state_approved: "Approved",
  st_state_published: "Published",
  st_state_rejected: "Rejected",
  st_approvals: "Approvals {n} of {need}",
  st_approved_by: "by {who}",
  st_withheld: "Withheld or coarsened by the disclosure policy",
  st_withheld_none: "Nothing withheld.",
  st_text_en: "English",
  st_text_ru: "Russian",
  st_approve: "Approve",
  st_reject: "Reject",
  st_edit: "Edit",
  st_save: "Save",
  st_cancel: "Cancel",
  st_reject_reason: "Reason for rejecting",
  st_drafted_at: "drafted {time}",
  st_published_at: "published {time}",
  st_edited_by: "edited by {who}",
  st_history: "History",
  st_original: "The draft before editing",
  st_topic_kills: "Kills",
  st_topic_airport_restricted: "Airport restricted",
  st_topic_airport_lifted: "Airport reopened",
  st_topic_recovered: "Debris recovered",
  st_topic_summary: "Night summary",
  st_topic_airport: "Airport",
  st_topic_all_clear: "All clear",
  st_topic_debris: "Debris",

  alerts_none: "No CAP alerts issued.",
  alert_cap: "CAP",
  alert_in_force: "In force",
  alert_cancelled: "Cancelled",
  alert_earlier: "Earlier messages ({n})",
  alert_more: "and {n} more in the log",
  claims_none: "No claims recorded.",
  claim_confirmed: "Confirmed",
  claim_unconfirmed: "Unconfirmed",
  claim_contradicted: "Contradicted",
  claim_add: "Record claim",
  claim_source: "Source",
  claim_what: "What it claims",
  claim_count: "Count",
  claim_where: "Where",
  claim_text: "Text",
  claim_what_kill: "Kills",
  claim_what_airport_closed: "Airport closed",
  claim_what_damage: "Damage",
  claim_what_drone_sighting: "Drone sighting",
  submit: "Submit",

  sensors_up: "{up} of {n} up",
  sensor_up: "up",
  sensor_down: "down",
  sensor_degraded: "degraded",

  incident: "Incident {id}",
  incident_tracks: "Tracks: {ids}",
  incident_loading: "Loading the incident…",
  incident_empty: "No events.",
  close: "Close",

  cls_drone: "drone",
  cls_bird: "bird",
  cls_manned_aircraft: "aircraft",
  cls_unknown: "unknown",
  identity_friend: "friend",
  identity_hostile: "hostile",

  legend: "Legend",
  layer_districts: "Districts",
  layer_zones: "Protected zones",
  layer_airports: "Airport restriction",
  layer_roads: "Roads",
  layer_sensors: "Sensor coverage",
  layer_debris: "Debris footprint",
  layer_crews: "Crews",
  basemap_none: "No basemap: scenario layers only",

  write_sent: "Sent: {what}",
  write_refused: "Refused ({status}): {detail}",
  write_failed: "Not sent: {detail}",
  writes_off_replay: "Writes are off while replaying.",

  help_title: "Keyboard shortcuts",
  help_intro: "Shortcuts work when no text field has the focus.",
  key_jk: "next / previous threat",
  key_a: "acknowledge the selected threat",
  key_enter: "open the selected threat's incident",
  key_f: "centre the map on the selected threat",
  key_slash: "search tracks, kills (#31), crews",
  key_tabs: "kills, crews, statements, alerts, claims",
  key_r: "replay: step back 5 minutes (Shift+R: live)",
  key_l: "switch language",
  key_esc: "close a dialog or the incident",
  key_help: "this help",

  now: "Now",
  unit_ms: "m/s",
  unit_m: "m",
  tracks_n: "{n} tracks",
  console_not_built: "Console not built: run make console",
  error_generic: "Something went wrong: {detail}",
};

const ru = {
  app_name: "Skywarden",
  app_tagline: "Воздушная обстановка города и информирование населения",
  login_title: "Вход в пульт оперативного дежурного",
  login_user: "Пользователь",
  login_password: "Пароль",
  login_submit: "Войти",
  login_failed: "Неверный пользователь или пароль.",
  login_throttled: "Слишком много попыток. Подождите минуту.",
  login_error: "Сервер не ответил: {detail}",
  logout: "Выйти",
  lang_toggle: "EN",
  lang_toggle_title: "English interface",

  role_viewer: "Наблюдатель",
  role_duty_officer: "Оперативный дежурный",
  role_dispatcher: "Диспетчер",
  role_press_officer: "Пресс-служба",
  role_approver: "Согласующий",
  role_admin: "Администратор",

  mode_exercise: "Учения",
  mode_live: "Боевой режим",
  paused: "Пауза",
  pause: "Пауза",
  resume: "Продолжить",
  speed: "Скорость",
  conn_live: "На связи",
  conn_connecting: "Подключение…",
  conn_lost: "Связь потеряна — переподключение",
  conn_resync: "Синхронизация",
  search_placeholder: "Трек, сбитие №, бригада…  ( / )",
  search_none: "Ничего не найдено: «{q}»",

  replay: "Повтор",
  replay_live: "К текущей",
  replay_at: "Обстановка на {time}",
  replay_banner: "ПОВТОР — обстановка на {time}, восстановлена из журнала. Команды отключены.",
  replay_back: "Вернуться к текущей",
  replay_loading: "Загрузка…",

  panel_threats: "Угрозы",
  panel_airports: "Аэропорты",
  panel_kills: "Сбития",
  panel_crews: "Бригады",
  panel_statements: "Сообщения",
  panel_alerts: "Оповещения",
  panel_claims: "Заявления",
  panel_sensors: "Датчики",

  threats_none: "Угроз нет.",
  threat_to_zone: "до зоны",
  threat_entry: "вход",
  threat_cpa: "мин. дист.",
  threat_since: "Угроза с",
  threat_ack: "Принять",
  threat_ack_title: "Принять угрозу (a)",
  threat_acked_by: "Принял: {who}",
  threat_unacked: "Не принята",
  level_low: "Низкая",
  level_medium: "Средняя",
  level_high: "Высокая",
  level_critical: "Критическая",

  airports_none: "В сценарии нет аэропортов.",
  airport_open: "Открыт",
  airport_restricted: "Ограничения",
  airport_since: "с {time}",
  airport_quiet_left: "тишина ещё {d}",
  airport_closed_total: "закрыт {d}",
  airport_closed_title: "Время ограничений за ночь",

  kills_none: "Сбитий нет.",
  kill_near: "район {place}",
  kill_toward: "курс на {place}",
  kill_withdrawn: "отозвано",
  kill_withdraw: "Отозвать",
  kill_withdraw_reason: "Причина отзыва сбития №{n}",
  kill_report: "Доложить о сбитии",
  kill_report_hint: "Щёлкните по карте в месте падения (Esc — отмена).",
  kill_report_confirm: "Доложить о сбитии в точке {lat}, {lon}?",

  crews_none: "Бригад нет.",
  crew_eta: "прибытие через {d}",
  crew_site: "место {site}",
  crew_to_kill: "→ сбитие №{n}",
  crew_override: "Направить…",
  crew_override_pick: "Направить {crew} на место",
  crew_recall: "Отозвать",
  crew_recall_reason: "Причина отзыва бригады {crew}",
  crew_recall_offered: "Сбитие отозвано — предложен отзыв",
  crew_idle: "свободна",
  crew_status_available: "Свободна",
  crew_status_dispatched: "Направлена",
  crew_status_en_route: "В пути",
  crew_status_on_site: "На месте",
  crew_status_wreckage_recovered: "Обломки собраны",
  crew_status_site_closed: "Место закрыто",
  crew_status_recalled: "Отозвана",

  statements_none: "Сообщений пока нет.",
  st_state_drafted: "Проект",
  st_state_partially_approved: "Частично согласовано",
  st_state_approved: "Согласовано",
  st_state_published: "Опубликовано",
  st_state_rejected: "Отклонено",
  st_approvals: "Согласований {n} из {need}",
  st_approved_by: "— {who}",
  st_withheld: "Скрыто или огрублено по правилам раскрытия",
  st_withheld_none: "Ничего не скрыто.",
  st_text_en: "Английский",
  st_text_ru: "Русский",
  st_approve: "Согласовать",
  st_reject: "Отклонить",
  st_edit: "Править",
  st_save: "Сохранить",
  st_cancel: "Отмена",
  st_reject_reason: "Причина отклонения",
  st_drafted_at: "проект {time}",
  st_published_at: "опубликовано {time}",
  st_edited_by: "правка: {who}",
  st_history: "История",
  st_original: "Проект до правки",
  st_topic_kills: "Сбития",
  st_topic_airport_restricted: "Ограничения в аэропорту",
  st_topic_airport_lifted: "Аэропорт открыт",
  st_topic_recovered: "Обломки собраны",
  st_topic_summary: "Итоги ночи",
  st_topic_airport: "Аэропорт",
  st_topic_all_clear: "Отбой",
  st_topic_debris: "Обломки",

  alerts_none: "Оповещений CAP нет.",
  alert_cap: "CAP",
  alert_in_force: "Действует",
  alert_cancelled: "Отменено",
  alert_earlier: "Ранее ({n})",
  alert_more: "и ещё {n} в журнале",
  claims_none: "Заявлений нет.",
  claim_confirmed: "Подтверждено",
  claim_unconfirmed: "Не подтверждено",
  claim_contradicted: "Опровергнуто",
  claim_add: "Записать заявление",
  claim_source: "Источник",
  claim_what: "О чём",
  claim_count: "Число",
  claim_where: "Где",
  claim_text: "Текст",
  claim_what_kill: "Сбития",
  claim_what_airport_closed: "Закрытие аэропорта",
  claim_what_damage: "Ущерб",
  claim_what_drone_sighting: "Замечен БПЛА",
  submit: "Отправить",

  sensors_up: "{up} из {n} в строю",
  sensor_up: "в строю",
  sensor_down: "не работает",
  sensor_degraded: "с ограничениями",

  incident: "Инцидент {id}",
  incident_tracks: "Треки: {ids}",
  incident_loading: "Загрузка инцидента…",
  incident_empty: "Событий нет.",
  close: "Закрыть",

  cls_drone: "БПЛА",
  cls_bird: "птицы",
  cls_manned_aircraft: "самолёт",
  cls_unknown: "неизв.",
  identity_friend: "свой",
  identity_hostile: "чужой",

  legend: "Легенда",
  layer_districts: "Районы",
  layer_zones: "Охраняемые зоны",
  layer_airports: "Зона ограничений аэропорта",
  layer_roads: "Дороги",
  layer_sensors: "Зоны обзора датчиков",
  layer_debris: "Район падения обломков",
  layer_crews: "Бригады",
  basemap_none: "Без подложки: только слои сценария",

  write_sent: "Отправлено: {what}",
  write_refused: "Отказано ({status}): {detail}",
  write_failed: "Не отправлено: {detail}",
  writes_off_replay: "В режиме повтора команды отключены.",

  help_title: "Клавиши",
  help_intro: "Клавиши работают, когда курсор не в поле ввода.",
  key_jk: "следующая / предыдущая угроза",
  key_a: "принять выбранную угрозу",
  key_enter: "открыть инцидент выбранной угрозы",
  key_f: "показать выбранную угрозу на карте",
  key_slash: "поиск треков, сбитий (#31), бригад",
  key_tabs: "сбития, бригады, сообщения, оповещения, заявления",
  key_r: "повтор: на 5 минут назад (Shift+R — сейчас)",
  key_l: "сменить язык",
  key_esc: "закрыть окно или инцидент",
  key_help: "эта справка",

  now: "Сейчас",
  unit_ms: "м/с",
  unit_m: "м",
  tracks_n: "треков: {n}",
  console_not_built: "Пульт не собран: выполните make console",
  error_generic: "Ошибка: {detail}",
};

export const DICTIONARIES = { en, ru };
export const LANGUAGES = ["en", "ru"];

let lang = "en";
const listeners = new Set();

export function getLang() {
  return lang;
}

export function setLang(next) {
  if (!LANGUAGES.includes(next) || next === lang) return;
  lang = next;
  document.documentElement.lang = next;
  try {
    localStorage.setItem("skywarden.lang", next);
  } catch {
    // storage refused (private mode): the choice lasts for this page only
  }
  for (const fn of listeners) fn(next);
}

export function initialLang() {
  let saved = null;
  try {
    saved = localStorage.getItem("skywarden.lang");
  } catch {
    saved = null;
  }
  if (saved && LANGUAGES.includes(saved)) return saved;
  return (navigator.language || "en").toLowerCase().startsWith("ru") ? "ru" : "en";
}

export function onLang(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function t(key, vars) {
  const s = DICTIONARIES[lang][key] ?? en[key] ?? key;
  if (!vars) return s;
  return s.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

/** A translation if the dictionary has `prefix + value`, else the value itself. */
export function tOr(prefix, value) {
  if (value === null || value === undefined) return "";
  const key = prefix + value;
  return key in DICTIONARIES[lang] || key in en ? t(key) : String(value).replaceAll("_", " ");
}
