// Labels and number/date formatting in 简体中文 (default) and English.
'use strict';

const MESSAGES = {
  zh: {
    'title': '就业创业资金台账',
    'nav.progress': '目标进度', 'nav.portfolio': '创业担保贷款', 'nav.funds': '资金', 'nav.history': '账户明细',
    'live.on': '实时', 'live.off': '未连接', 'live.title': '数据变化时自动更新',
    'signout': '退出', 'close': '关闭',
    'signin.title': '登录', 'signin.token': '访问令牌', 'signin.submit': '登录',
    'signin.help': '请输入访问令牌。令牌只保存在本标签页的会话中，关闭标签页即失效。',
    'signin.bad': '令牌无效，请重新输入。',
    'pick.region': '地区', 'pick.year': '年度', 'pick.issuer': '目标下达',
    'issuer.all': '全部', 'issuer.province': '省定', 'issuer.city': '市定', 'issuer.county': '县定', 'issuer.none': '无目标',
    'asof': '数据截至 {0}',
    'fig.target': '目标', 'fig.actual': '完成', 'fig.percent': '完成率',
    'track.on': '进度正常', 'track.off': '进度滞后', 'track.none': '未下达目标',
    'dir.floor': '不低于', 'dir.ceiling': '不高于',
    'rank.title': '通报：下级地区排名', 'rank.indicator': '指标', 'rank.download': '下载通报 (xlsx)',
    'rank.rank': '排名', 'rank.region': '地区', 'rank.status': '进度', 'rank.none': '没有下级地区',
    'empty': '暂无数据',
    'pf.issued_count': '发放笔数', 'pf.issued_amount': '发放金额', 'pf.outstanding_principal': '在贷余额',
    'pf.repaid_principal': '已还本金', 'pf.defaulted_count': '违约笔数', 'pf.compensated_amount': '代偿金额',
    'pf.recovered_amount': '追偿金额', 'pf.written_off_amount': '核销金额', 'pf.repayment_rate': '回收率',
    'pf.recovery_rate': '追偿率', 'pf.jobs_created': '带动就业',
    'pf.allyears': '全部年度',
    'chart.title': '按月发放与在贷余额', 'chart.issued': '当月发放金额', 'chart.outstanding': '月末在贷余额',
    'funds.title': '资金余额', 'funds.id': '编号', 'funds.name': '名称', 'funds.kind': '类型', 'funds.region': '地区',
    'funds.allocated': '拨入', 'funds.received': '收回', 'funds.paid_out': '支出', 'funds.balance': '余额',
    'funds.history': '明细',
    'kind.employment_subsidy': '就业补助资金', 'kind.guarantee': '创业担保基金', 'kind.bad_debt_reserve': '呆坏账准备金',
    'kind.unemployment_insurance': '失业保险基金',
    'history.title': '账户明细', 'history.account': '账户', 'history.id': '编号', 'history.from': '起', 'history.to': '止',
    'history.partial': '显示最近 {0} 条，共 {1} 条；CSV 含全部明细',
    'type.fund.allocated': '资金拨入', 'type.subsidy.paid': '补贴发放', 'type.subsidy.reversed': '补贴追回',
    'type.loan.issued': '贷款发放', 'type.loan.repaid': '还款', 'type.loan.interest_subsidy_paid': '贴息',
    'type.loan.defaulted': '违约', 'type.loan.compensated': '代偿', 'type.loan.recovered': '追偿',
    'type.loan.written_off': '核销', 'type.loan.closed': '结清', 'type.placement.recorded': '就业登记',
    'type.placement.ended': '离岗', 'type.placement.reversed': '撤销登记', 'type.training.recorded': '培训',
    'type.statistic.reported': '统计报送',
    'history.show': '查询', 'history.csv': '下载 CSV', 'history.balance': '当前余额 {0}',
    'account.fund': '资金', 'account.beneficiary': '受益人', 'account.loan': '贷款',
    'col.position': '位置', 'col.date': '日期', 'col.type': '类型', 'col.amount': '金额', 'col.counterparty': '对方账户',
    'col.document': '文号', 'col.balance_after': '余额', 'col.value': '数值',
    'drill.title': '{0}：明细', 'drill.summary': '{0} 条事件，合计 {1}', 'drill.truncated': '（仅显示前若干条）',
    'unit.persons': '人', 'unit.count': '笔', 'unit.yuan': '元',
    'error.forbidden': '当前角色无权查看此内容。', 'error.generic': '请求失败：{0}',
    'role.officer': '经办', 'role.approver': '审批', 'role.auditor': '审计', 'role.viewer': '查看',
    'ind.new_urban_jobs': '城镇新增就业', 'ind.reemployed_unemployed': '失业人员再就业',
    'ind.hard_to_employ_placed': '就业困难人员就业', 'ind.rural_labour_transferred': '农村劳动力转移就业',
    'ind.poverty_labour_transferred': '贫困劳动力转移就业', 'ind.public_welfare_posts': '公益性岗位安置',
    'ind.community_factory_jobs': '社区工厂吸纳就业', 'ind.graduates_employed': '高校毕业生就业',
    'ind.startups_supported': '扶持创业', 'ind.loans_issued_count': '创业担保贷款发放笔数',
    'ind.loans_issued_amount': '创业担保贷款发放金额', 'ind.loans_poor_villages_count': '贫困村贷款笔数',
    'ind.loans_poor_villages_amount': '贫困村贷款金额', 'ind.vocational_trainings': '职业技能培训',
    'ind.entrepreneurship_trainings': '创业培训', 'ind.subsidies_paid_amount': '就业补助资金支出',
    'ind.registered_unemployment_rate': '城镇登记失业率',
  },
  en: {
    'title': 'Employment & Startup Ledger',
    'nav.progress': 'Targets', 'nav.portfolio': 'Startup loans', 'nav.funds': 'Funds', 'nav.history': 'Account history',
    'live.on': 'Live', 'live.off': 'Offline', 'live.title': 'Updates itself when the figures change',
    'signout': 'Sign out', 'close': 'Close',
    'signin.title': 'Sign in', 'signin.token': 'Access token', 'signin.submit': 'Sign in',
    'signin.help': 'Enter your access token. It is kept in this tab only and forgotten when the tab closes.',
    'signin.bad': 'That token is not valid.',
    'pick.region': 'Region', 'pick.year': 'Year', 'pick.issuer': 'Target set by',
    'issuer.all': 'All', 'issuer.province': 'Province', 'issuer.city': 'City', 'issuer.county': 'County', 'issuer.none': 'No target',
    'asof': 'Figures as of {0}',
    'fig.target': 'Target', 'fig.actual': 'Actual', 'fig.percent': 'Percent',
    'track.on': 'On track', 'track.off': 'Behind', 'track.none': 'No target',
    'dir.floor': 'at least', 'dir.ceiling': 'at most',
    'rank.title': 'Ranking of sub-regions', 'rank.indicator': 'Indicator', 'rank.download': 'Download ranking (xlsx)',
    'rank.rank': 'Rank', 'rank.region': 'Region', 'rank.status': 'Status', 'rank.none': 'No sub-regions',
    'empty': 'No data yet',
    'pf.issued_count': 'Loans issued', 'pf.issued_amount': 'Amount issued', 'pf.outstanding_principal': 'Outstanding',
    'pf.repaid_principal': 'Repaid principal', 'pf.defaulted_count': 'Defaults', 'pf.compensated_amount': 'Compensated',
    'pf.recovered_amount': 'Recovered', 'pf.written_off_amount': 'Written off', 'pf.repayment_rate': 'Repayment rate',
    'pf.recovery_rate': 'Recovery rate', 'pf.jobs_created': 'Jobs created',
    'pf.allyears': 'All years',
    'chart.title': 'Issued per month and outstanding at month end', 'chart.issued': 'Issued in the month',
    'chart.outstanding': 'Outstanding at month end',
    'funds.title': 'Fund balances', 'funds.id': 'Fund', 'funds.name': 'Name', 'funds.kind': 'Kind', 'funds.region': 'Region',
    'funds.allocated': 'Allocated', 'funds.received': 'Received', 'funds.paid_out': 'Paid out', 'funds.balance': 'Balance',
    'funds.history': 'History',
    'kind.employment_subsidy': 'Employment subsidy', 'kind.guarantee': 'Loan guarantee', 'kind.bad_debt_reserve': 'Bad-debt reserve',
    'kind.unemployment_insurance': 'Unemployment insurance',
    'history.title': 'Account history', 'history.account': 'Account', 'history.id': 'Id', 'history.from': 'From', 'history.to': 'To',
    'history.partial': 'Showing the latest {0} of {1}; the CSV has them all',
    'type.fund.allocated': 'Allocation', 'type.subsidy.paid': 'Subsidy paid', 'type.subsidy.reversed': 'Subsidy reversed',
    'type.loan.issued': 'Loan issued', 'type.loan.repaid': 'Repayment', 'type.loan.interest_subsidy_paid': 'Interest subsidy',
    'type.loan.defaulted': 'Default', 'type.loan.compensated': 'Compensation', 'type.loan.recovered': 'Recovery',
    'type.loan.written_off': 'Write-off', 'type.loan.closed': 'Closed', 'type.placement.recorded': 'Placement',
    'type.placement.ended': 'Placement ended', 'type.placement.reversed': 'Placement reversed', 'type.training.recorded': 'Training',
    'type.statistic.reported': 'Statistic reported',
    'history.show': 'Show', 'history.csv': 'Download CSV', 'history.balance': 'Balance now {0}',
    'account.fund': 'Fund', 'account.beneficiary': 'Beneficiary', 'account.loan': 'Loan',
    'col.position': 'Position', 'col.date': 'Date', 'col.type': 'Type', 'col.amount': 'Amount', 'col.counterparty': 'Counterparty',
    'col.document': 'Document', 'col.balance_after': 'Balance', 'col.value': 'Value',
    'drill.title': '{0}: the events behind it', 'drill.summary': '{0} events, total {1}', 'drill.truncated': ' (only the first ones shown)',
    'unit.persons': '', 'unit.count': '', 'unit.yuan': '',
    'error.forbidden': 'Your role may not see this.', 'error.generic': 'Request failed: {0}',
    'role.officer': 'officer', 'role.approver': 'approver', 'role.auditor': 'auditor', 'role.viewer': 'viewer',
    'ind.new_urban_jobs': 'New urban jobs', 'ind.reemployed_unemployed': 'Unemployed re-employed',
    'ind.hard_to_employ_placed': 'Hard-to-employ placed', 'ind.rural_labour_transferred': 'Rural labour transferred',
    'ind.poverty_labour_transferred': 'Poverty labour transferred', 'ind.public_welfare_posts': 'Public-welfare posts',
    'ind.community_factory_jobs': 'Community-factory jobs', 'ind.graduates_employed': 'Graduates employed',
    'ind.startups_supported': 'Startups supported', 'ind.loans_issued_count': 'Loans issued',
    'ind.loans_issued_amount': 'Loan amount issued', 'ind.loans_poor_villages_count': 'Loans in poor villages',
    'ind.loans_poor_villages_amount': 'Loan amount in poor villages', 'ind.vocational_trainings': 'Vocational trainings',
    'ind.entrepreneurship_trainings': 'Entrepreneurship trainings', 'ind.subsidies_paid_amount': 'Subsidies paid',
    'ind.registered_unemployment_rate': 'Registered unemployment rate',
  },
};

// Indicators whose figure is money (yuan) or a rate in percent; the others count persons or loans.
const MONEY_INDICATORS = new Set(['loans_issued_amount', 'loans_poor_villages_amount', 'subsidies_paid_amount']);
const RATE_INDICATORS = new Set(['registered_unemployment_rate']);
const LOAN_COUNT_INDICATORS = new Set(['loans_issued_count', 'loans_poor_villages_count']);

const I18N = {
  lang: 'zh',

  t(key, ...args) {
    const table = MESSAGES[this.lang] || MESSAGES.zh;
    let s = table[key] ?? MESSAGES.zh[key] ?? key;
    args.forEach((a, i) => { s = s.replace('{' + i + '}', a); });
    return s;
  },

  // Puts the labels of the static page in the current language.
  apply(root) {
    document.documentElement.lang = this.lang === 'zh' ? 'zh-CN' : 'en';
    document.title = this.t('title');
    root.querySelectorAll('[data-i18n]').forEach(el => { el.textContent = this.t(el.dataset.i18n); });
    root.querySelectorAll('[data-i18n-title]').forEach(el => { el.title = this.t(el.dataset.i18nTitle); });
    root.querySelectorAll('[data-i18n-placeholder]').forEach(el => { el.placeholder = this.t(el.dataset.i18nPlaceholder); });
  },

  // count formats an integer string with digit grouping: "20321" -> "20,321".
  count(s) {
    if (s === null || s === undefined || s === '') return '—';
    const [int, frac] = String(s).split('.');
    const neg = int.startsWith('-');
    const digits = neg ? int.slice(1) : int;
    const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return (neg ? '-' : '') + grouped + (frac !== undefined ? '.' + frac : '');
  },

  // money formats a CNY decimal string. Chinese readers get 万 and 亿 from
  // ten thousand up; English readers get the full amount with grouping.
  // The figure itself is never computed in floating point: the unit shift
  // is done on the decimal string and only the display is rounded.
  // With compact, English readers get millions (¥183.37M) where a card has
  // no room for every digit.
  money(s, compact = false) {
    if (s === null || s === undefined || s === '') return '—';
    const neg = String(s).startsWith('-');
    const abs = neg ? String(s).slice(1) : String(s);
    const int = abs.split('.')[0];
    if (this.lang !== 'zh') {
      if (compact && int.length > 6) return (neg ? '-' : '') + '¥' + trimCents(shift(abs, 6)) + 'M';
      return (neg ? '-' : '') + '¥' + this.count(fixed2(abs));
    }
    let out;
    if (int.length > 8) out = trimCents(shift(abs, 8)) + '亿';
    else if (int.length > 4) out = trimCents(shift(abs, 4)) + '万';
    else out = fixed2(abs) + '元';
    return (neg ? '-' : '') + out;
  },

  percent(s) {
    return s === null || s === undefined ? '—' : s + '%';
  },

  // figure formats an indicator's value by its kind.
  figure(indicator, s) {
    if (s === null || s === undefined) return '—';
    if (MONEY_INDICATORS.has(indicator)) return this.money(s, true);
    if (RATE_INDICATORS.has(indicator)) return s + '%';
    const unit = LOAN_COUNT_INDICATORS.has(indicator) ? this.t('unit.count') : this.t('unit.persons');
    return this.count(s) + unit;
  },

  // date shows a YYYY-MM-DD business date as the reader writes dates.
  date(s) {
    if (!s) return '—';
    const [y, m, d] = s.split('-').map(Number);
    if (this.lang === 'zh') return `${y}年${m}月${d}日`;
    const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    return `${d} ${months[m - 1]} ${y}`;
  },

  month(y, m) {
    if (this.lang === 'zh') return `${m}月`;
    return ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][m - 1];
  },
};

// trimCents drops ".00" from an amount in 万 or 亿: "7,310.00" reads "7,310".
function trimCents(s) {
  return s.endsWith('.00') ? s.slice(0, -3) : s;
}

// axisMoney labels a chart axis in round units: 1.5亿, 4,500万, ¥45M.
function axisMoney(v) {
  if (I18N.lang === 'zh') {
    if (v >= 1e8) return +(v / 1e8).toFixed(2) + '亿';
    if (v >= 1e4) return (+(v / 1e4).toFixed(1)).toLocaleString('zh-CN') + '万';
    return v.toLocaleString('zh-CN') + '元';
  }
  if (v >= 1e6) return '¥' + +(v / 1e6).toFixed(2) + 'M';
  if (v >= 1e3) return '¥' + +(v / 1e3).toFixed(1) + 'k';
  return '¥' + v;
}

// fixed2 pads or rounds a decimal string to two places (half up).
function fixed2(s) {
  return shift(s, 0);
}

// shift divides a non-negative decimal string by 10^places and rounds the
// result to two decimals, half up, on the digits.
function shift(s, places) {
  let [int, frac = ''] = String(s).split('.');
  int = int.replace(/^0+(?=\d)/, '');
  const digits = (int + frac).padStart(places + 1, '0');
  const point = digits.length - frac.length - places;
  let whole = digits.slice(0, point) || '0';
  let rest = (digits.slice(point) + '000').slice(0, 3);
  let cents = Number(rest.slice(0, 2)) + (Number(rest[2]) >= 5 ? 1 : 0);
  if (cents === 100) {
    cents = 0;
    whole = (BigInt(whole) + 1n).toString();
  }
  whole = whole.replace(/^0+(?=\d)/, '');
  return whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',') + '.' + String(cents).padStart(2, '0');
}

window.I18N = I18N;
window.axisMoney = axisMoney;
window.MONEY_INDICATORS = MONEY_INDICATORS;
