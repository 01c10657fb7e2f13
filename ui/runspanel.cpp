#include "runspanel.h"

#include <QDir>
#include <QFileInfo>
#include <QGridLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>
#include <exception>

#include "train/run_folder.h"
#include "config/run_config.h"
#include "pathedit.h"
#include "train/metrics_log.h"
#include "workbenchsettings.h"

namespace droplora::ui {

namespace {

constexpr int kDirRole = Qt::UserRole;

// A cell shown as text that sorts by its number (or date); unknown values (-1) sort first.
class SortItem : public QTableWidgetItem {
public:
    bool operator<(const QTableWidgetItem& other) const override {
        const QVariant a = data(Qt::UserRole + 1), b = other.data(Qt::UserRole + 1);
        if (a.isValid() && b.isValid()) return QVariant::compare(a, b) == QPartialOrdering::Less;
        return QTableWidgetItem::operator<(other);
    }
};

QTableWidgetItem* sortCell(const QVariant& sortValue, const QString& text) {
    auto* item = new SortItem;
    item->setData(Qt::DisplayRole, text);
    item->setData(Qt::UserRole + 1, sortValue);
    item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return item;
}

QString number(double v, int decimals) { return v < 0 ? QStringLiteral("–") : QString::number(v, 'f', decimals); }

}  // namespace

RunsPanel::RunsPanel(QWidget* parent)
    : QWidget(parent),
      m_root(new PathEdit(PathEdit::Mode::ExistingFolder, QStringLiteral("runs"), this)),
      m_table(new QTableWidget(0, kColumnCount, this)),
      m_open(new QPushButton(tr("Open"), this)),
      m_overlay(new QPushButton(tr("Overlay loss"), this)),
      m_resume(new QPushButton(tr("Resume"), this)),
      m_compare(new QPushButton(tr("Compare"), this)) {
    m_root->setPlaceholderText(tr("folder that holds run folders"));
    m_table->setHorizontalHeaderLabels({tr("Run"), tr("Method"), tr("Mask"), tr("Rank"), tr("p"), tr("Steps"),
                                        tr("Train loss"), tr("Val loss"), tr("Exact match"), tr("Date")});
    m_table->horizontalHeaderItem(kExactMatch)->setToolTip(
        tr("The final adapter's exact match on the validation file, once the run was scored (Summary tab or "
           "Compare)"));
    m_table->horizontalHeaderItem(kTrainLoss)->setToolTip(tr("The last logged training loss"));
    m_table->horizontalHeaderItem(kValLoss)->setToolTip(tr("The last validation loss"));
    m_table->horizontalHeaderItem(kDropRate)->setToolTip(tr("DropLoRA's drop rate"));
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setAlternatingRowColors(true);
    m_table->verticalHeader()->setVisible(false);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->setSortingEnabled(true);
    m_table->sortByColumn(kDate, Qt::DescendingOrder);
    m_open->setToolTip(tr("Show the run's plots and load its config into the form"));
    m_overlay->setToolTip(tr("Draw the selected runs' loss curves over the loss plot"));
    m_resume->setToolTip(tr("Continue the run from its last checkpoint"));
    m_compare->setObjectName(QStringLiteral("compareRuns"));
    m_compare->setToolTip(tr("Select two finished runs: their validation loss and exact match side by side, with "
                             "the base model's"));
    auto* clear = new QPushButton(tr("Clear overlays"), this);
    auto* refresh = new QPushButton(tr("Refresh"), this);

    auto* buttons = new QGridLayout;
    buttons->addWidget(m_open, 0, 0);
    buttons->addWidget(m_resume, 0, 1);
    buttons->addWidget(m_overlay, 1, 0);
    buttons->addWidget(clear, 1, 1);
    buttons->addWidget(m_compare, 2, 0);
    buttons->addWidget(refresh, 2, 1);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(new QLabel(tr("Runs folder"), this));
    layout->addWidget(m_root);
    layout->addWidget(m_table, 1);
    layout->addLayout(buttons);

    m_root->setPath(WorkbenchSettings::runsRoot());
    connect(m_root, &PathEdit::pathChanged, this, [this](const QString& dir) {
        WorkbenchSettings::setRunsRoot(dir);
        this->refresh();
    });
    connect(m_table, &QTableWidget::itemSelectionChanged, this, &RunsPanel::updateButtons);
    connect(m_table, &QTableWidget::cellDoubleClicked, this, [this](int row, int) {
        if (QTableWidgetItem* item = m_table->item(row, kName)) emit openRequested(item->data(kDirRole).toString());
    });
    connect(m_open, &QPushButton::clicked, this, [this] {
        const QStringList dirs = selectedRuns();
        if (!dirs.isEmpty()) emit openRequested(dirs.first());
    });
    connect(m_resume, &QPushButton::clicked, this, [this] {
        const QStringList dirs = selectedRuns();
        if (dirs.size() == 1) emit resumeRequested(dirs.first());
    });
    connect(m_overlay, &QPushButton::clicked, this, [this] { emit overlayRequested(selectedRuns()); });
    connect(m_compare, &QPushButton::clicked, this, [this] {
        const QStringList dirs = selectedRuns();
        if (dirs.size() == 2) emit compareRequested(dirs);
    });
    connect(clear, &QPushButton::clicked, this, &RunsPanel::clearOverlaysRequested);
    connect(refresh, &QPushButton::clicked, this, &RunsPanel::refresh);
    this->refresh();
}

bool RunsPanel::isRunFolder(const QString& dir) {
    return droplora::run_folder::is_run_folder(dir.toStdString());
}

QStringList RunsPanel::runDirs() const {
    QStringList dirs;
    for (int r = 0; r < m_table->rowCount(); ++r) dirs.append(m_table->item(r, kName)->data(kDirRole).toString());
    return dirs;
}

QStringList RunsPanel::selectedRuns() const {
    QStringList dirs;
    for (int r = 0; r < m_table->rowCount(); ++r)
        if (m_table->item(r, kName)->isSelected()) dirs.append(m_table->item(r, kName)->data(kDirRole).toString());
    return dirs;
}

void RunsPanel::selectRuns(const QStringList& dirs) {
    m_table->clearSelection();
    for (int r = 0; r < m_table->rowCount(); ++r) {
        if (!dirs.contains(m_table->item(r, kName)->data(kDirRole).toString())) continue;
        for (int c = 0; c < kColumnCount; ++c) m_table->item(r, c)->setSelected(true);
    }
}

void RunsPanel::addRecentRun(const QString& dir) {
    WorkbenchSettings::addRecentRun(QFileInfo(dir).absoluteFilePath());
    refresh();
}

const RunsPanel::Summary& RunsPanel::summaryOf(const QString& dir) {
    const QDir run(dir);
    const QFileInfo metrics(QString::fromStdString(droplora::run_folder::metrics_path(dir.toStdString())));
    const QFileInfo config(QString::fromStdString(droplora::run_folder::config_path(dir.toStdString())));
    auto it = m_cache.find(dir);
    const QFileInfo scores(QString::fromStdString(droplora::run_folder::join(dir.toStdString(), droplora::run_folder::kScores)));
    if (it != m_cache.end() && it->readAt == metrics.lastModified() && it->metricsSize == metrics.size() &&
        it->scoresAt == scores.lastModified())
        return *it;
    Summary s;
    s.readAt = metrics.lastModified();
    s.scoresAt = scores.lastModified();
    s.metricsSize = metrics.size();
    s.date = metrics.exists() ? metrics.lastModified() : config.lastModified();
    try {
        if (config.exists()) {
            const auto c = droplora::config::load_run_config(config.filePath().toStdString());
            s.method = QString::fromStdString(c.adapter.method);
            s.mask = c.adapter.method == "droplora" ? QString::fromStdString(c.adapter.mask) : QStringLiteral("–");
            s.rank = c.adapter.rank;
            s.dropRate = c.adapter.method == "droplora" ? c.adapter.drop_rate : 0.0;
            s.maxSteps = c.train.max_steps;
        }
        if (metrics.exists()) {
            const auto h = droplora::train::read_metrics(metrics.filePath().toStdString());
            if (!h.steps.empty()) {
                s.steps = h.steps.back().step;
                s.trainLoss = h.steps.back().loss;
                if (h.steps.back().max_steps > 0) s.maxSteps = h.steps.back().max_steps;
            }
            if (!h.evals.empty()) s.valLoss = h.evals.back().loss;
        }
        if (const auto scores = droplora::run_folder::read_scores(dir.toStdString())) {
            s.exactMatch = scores->exact_match;
            s.exactMatchNote = tr("%1 of %2 rows of %3").arg(scores->matched).arg(scores->examples).arg(QString::fromStdString(scores->data));
            if (scores->has_base)
                s.exactMatchNote += tr("; the base model: %1 %").arg(100 * scores->base_exact_match, 0, 'f', 1);
        }
    } catch (const std::exception& e) {
        s.note = QString::fromUtf8(e.what());
    }
    return *m_cache.insert(dir, s);
}

void RunsPanel::addRow(const QString& dir, const QString& origin) {
    const Summary& s = summaryOf(dir);
    const int row = m_table->rowCount();
    m_table->insertRow(row);
    auto* name = new QTableWidgetItem(QFileInfo(dir).fileName());
    name->setData(kDirRole, dir);
    name->setToolTip(s.note.isEmpty() ? QStringLiteral("%1 (%2)").arg(dir, origin)
                                      : QStringLiteral("%1\n%2").arg(dir, s.note));
    m_table->setItem(row, kName, name);
    m_table->setItem(row, kMethod, new QTableWidgetItem(s.method.isEmpty() ? QStringLiteral("?") : s.method));
    m_table->setItem(row, kMask, new QTableWidgetItem(s.mask));
    m_table->setItem(row, kRank, sortCell(s.rank, s.rank < 0 ? QStringLiteral("–") : QString::number(s.rank)));
    m_table->setItem(row, kDropRate, sortCell(s.dropRate, number(s.dropRate, 2)));
    const QString steps = s.steps < 0 ? QStringLiteral("–")
                          : s.maxSteps > 0 ? QStringLiteral("%1 / %2").arg(s.steps).arg(s.maxSteps)
                                           : QString::number(s.steps);
    m_table->setItem(row, kSteps, sortCell(s.steps, steps));
    m_table->setItem(row, kTrainLoss, sortCell(s.trainLoss, number(s.trainLoss, 4)));
    m_table->setItem(row, kValLoss, sortCell(s.valLoss, number(s.valLoss, 4)));
    auto* exact = sortCell(s.exactMatch, s.exactMatch < 0 ? QStringLiteral("–")
                                                          : QStringLiteral("%1 %").arg(100 * s.exactMatch, 0, 'f', 1));
    exact->setToolTip(s.exactMatchNote);
    m_table->setItem(row, kExactMatch, exact);
    m_table->setItem(row, kDate, sortCell(s.date, QLocale().toString(s.date, QLocale::ShortFormat)));
}

void RunsPanel::refresh() {
    const QStringList selected = selectedRuns();
    const int sortColumn = m_table->horizontalHeader()->sortIndicatorSection();
    const Qt::SortOrder order = m_table->horizontalHeader()->sortIndicatorOrder();
    m_table->setSortingEnabled(false);  // rows are filled unsorted, then sorted once
    m_table->setRowCount(0);
    QStringList seen;
    const auto add = [&](const QString& dir, const QString& origin) {
        const QString clean = QDir::cleanPath(QFileInfo(dir).absoluteFilePath());
        if (seen.contains(clean) || !isRunFolder(clean)) return;
        seen.append(clean);
        addRow(clean, origin);
    };
    for (const QString& dir : WorkbenchSettings::recentRuns()) add(dir, tr("recent"));
    const QString root = m_root->path();
    if (!root.isEmpty()) {
        const QDir rootDir(root);
        for (const QFileInfo& info : rootDir.entryInfoList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Time))
            add(info.absoluteFilePath(), rootDir.dirName());
    }
    m_table->setSortingEnabled(true);
    m_table->sortByColumn(sortColumn, order);
    selectRuns(selected);
    updateButtons();
}

void RunsPanel::updateButtons() {
    const int n = static_cast<int>(selectedRuns().size());
    m_open->setEnabled(n >= 1);
    m_overlay->setEnabled(n >= 1);
    m_resume->setEnabled(n == 1);
    m_compare->setEnabled(n == 2);
}

}  // namespace droplora::ui
