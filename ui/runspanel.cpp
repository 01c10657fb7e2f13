#include "runspanel.h"

#include <QDir>
#include <QFileInfo>
#include <QGridLayout>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QVBoxLayout>

#include "pathedit.h"
#include "workbenchsettings.h"

namespace droplora::ui {

RunsPanel::RunsPanel(QWidget* parent)
    : QWidget(parent),
      m_root(new PathEdit(PathEdit::Mode::ExistingFolder, QStringLiteral("runs"), this)),
      m_list(new QListWidget(this)),
      m_open(new QPushButton(tr("Open"), this)),
      m_overlay(new QPushButton(tr("Overlay loss"), this)),
      m_resume(new QPushButton(tr("Resume"), this)) {
    m_root->setPlaceholderText(tr("folder that holds run folders"));
    m_list->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_list->setAlternatingRowColors(true);
    m_open->setToolTip(tr("Show the run's plots and load its config into the form"));
    m_overlay->setToolTip(tr("Draw the selected runs' loss curves over the loss plot"));
    m_resume->setToolTip(tr("Continue the run from its last checkpoint"));
    auto* clear = new QPushButton(tr("Clear overlays"), this);
    auto* refresh = new QPushButton(tr("Refresh"), this);

    auto* buttons = new QGridLayout;
    buttons->addWidget(m_open, 0, 0);
    buttons->addWidget(m_resume, 0, 1);
    buttons->addWidget(m_overlay, 1, 0);
    buttons->addWidget(clear, 1, 1);
    buttons->addWidget(refresh, 2, 0);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(new QLabel(tr("Runs folder"), this));
    layout->addWidget(m_root);
    layout->addWidget(m_list, 1);
    layout->addLayout(buttons);

    m_root->setPath(WorkbenchSettings::runsRoot());
    connect(m_root, &PathEdit::pathChanged, this, [this](const QString& dir) {
        WorkbenchSettings::setRunsRoot(dir);
        this->refresh();
    });
    connect(m_list, &QListWidget::itemSelectionChanged, this, &RunsPanel::updateButtons);
    connect(m_list, &QListWidget::itemDoubleClicked, this,
            [this](QListWidgetItem* item) { emit openRequested(item->data(Qt::UserRole).toString()); });
    connect(m_open, &QPushButton::clicked, this, [this] {
        const QStringList dirs = selectedRuns();
        if (!dirs.isEmpty()) emit openRequested(dirs.first());
    });
    connect(m_resume, &QPushButton::clicked, this, [this] {
        const QStringList dirs = selectedRuns();
        if (dirs.size() == 1) emit resumeRequested(dirs.first());
    });
    connect(m_overlay, &QPushButton::clicked, this, [this] { emit overlayRequested(selectedRuns()); });
    connect(clear, &QPushButton::clicked, this, &RunsPanel::clearOverlaysRequested);
    connect(refresh, &QPushButton::clicked, this, &RunsPanel::refresh);
    this->refresh();
}

bool RunsPanel::isRunFolder(const QString& dir) {
    const QDir d(dir);
    return d.exists(QStringLiteral("metrics.jsonl")) || d.exists(QStringLiteral("config.yaml"));
}

QStringList RunsPanel::runDirs() const {
    QStringList dirs;
    for (int i = 0; i < m_list->count(); ++i) dirs.append(m_list->item(i)->data(Qt::UserRole).toString());
    return dirs;
}

QStringList RunsPanel::selectedRuns() const {
    QStringList dirs;
    for (QListWidgetItem* item : m_list->selectedItems()) dirs.append(item->data(Qt::UserRole).toString());
    return dirs;
}

void RunsPanel::selectRuns(const QStringList& dirs) {
    for (int i = 0; i < m_list->count(); ++i) {
        QListWidgetItem* item = m_list->item(i);
        item->setSelected(dirs.contains(item->data(Qt::UserRole).toString()));
    }
}

void RunsPanel::addRecentRun(const QString& dir) {
    WorkbenchSettings::addRecentRun(QFileInfo(dir).absoluteFilePath());
    refresh();
}

void RunsPanel::refresh() {
    const QStringList selected = selectedRuns();
    m_list->clear();
    QStringList seen;
    const auto add = [&](const QString& dir, const QString& origin) {
        const QString clean = QDir::cleanPath(QFileInfo(dir).absoluteFilePath());
        if (seen.contains(clean) || !isRunFolder(clean)) return;
        seen.append(clean);
        auto* item = new QListWidgetItem(QStringLiteral("%1  —  %2").arg(QFileInfo(clean).fileName(), origin), m_list);
        item->setData(Qt::UserRole, clean);
        item->setToolTip(clean);
    };
    for (const QString& dir : WorkbenchSettings::recentRuns()) add(dir, tr("recent"));
    const QString root = m_root->path();
    if (!root.isEmpty()) {
        const QDir rootDir(root);
        for (const QFileInfo& info :
             rootDir.entryInfoList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Time))  // newest first
            add(info.absoluteFilePath(), rootDir.dirName());
    }
    selectRuns(selected);
    updateButtons();
}

void RunsPanel::updateButtons() {
    const int n = m_list->selectedItems().size();
    m_open->setEnabled(n >= 1);
    m_overlay->setEnabled(n >= 1);
    m_resume->setEnabled(n == 1);
}

}  // namespace droplora::ui
