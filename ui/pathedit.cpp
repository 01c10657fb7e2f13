#include "pathedit.h"

#include <QCompleter>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QStringListModel>
#include <QToolButton>

#include "workbenchsettings.h"

namespace droplora::ui {

PathEdit::PathEdit(Mode mode, const QString& kind, QWidget* parent)
    : QWidget(parent), m_mode(mode), m_kind(kind), m_edit(new QLineEdit(this)) {
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);
    auto* button = new QToolButton(this);
    button->setText(QStringLiteral("…"));
    button->setToolTip(mode == Mode::OpenFile ? tr("Choose a file") : tr("Choose a folder"));
    layout->addWidget(m_edit, 1);
    layout->addWidget(button);
    m_edit->setClearButtonEnabled(true);
    connect(button, &QToolButton::clicked, this, &PathEdit::browse);
    connect(m_edit, &QLineEdit::editingFinished, this, &PathEdit::commit);
}

QString PathEdit::path() const { return m_edit->text().trimmed(); }

void PathEdit::setPath(const QString& path) {
    m_edit->setText(path);
    commit();
}

void PathEdit::setPlaceholderText(const QString& text) { m_edit->setPlaceholderText(text); }

void PathEdit::setRecent(const QStringList& entries) {
    if (!m_completer) {
        m_completer = new QCompleter(this);
        m_completer->setCaseSensitivity(Qt::CaseSensitive);
        m_completer->setCompletionMode(QCompleter::PopupCompletion);
        m_completer->setModel(new QStringListModel(m_completer));
        m_edit->setCompleter(m_completer);
    }
    static_cast<QStringListModel*>(m_completer->model())->setStringList(entries);
}

void PathEdit::commit() {
    const QString current = path();
    if (current == m_committed) return;
    m_committed = current;
    emit pathChanged(current);
}

void PathEdit::browse() {
    QString start = path().isEmpty() ? WorkbenchSettings::lastFolder(m_kind) : path();
    if (m_mode == Mode::OpenFile && QFileInfo(start).isFile()) start = QFileInfo(start).absolutePath();
    QString chosen;
    if (m_mode == Mode::OpenFile)
        chosen = QFileDialog::getOpenFileName(this, tr("Choose a file"), start, m_filter);
    else
        chosen = QFileDialog::getExistingDirectory(this, tr("Choose a folder"), start,
                                                   m_mode == Mode::ExistingFolder ? QFileDialog::ShowDirsOnly
                                                                                  : QFileDialog::Options());
    if (chosen.isEmpty()) return;
    const QFileInfo info(chosen);
    WorkbenchSettings::setLastFolder(m_kind, info.isDir() ? info.absoluteFilePath() : info.absolutePath());
    setPath(QDir::toNativeSeparators(chosen));
}

}  // namespace droplora::ui
