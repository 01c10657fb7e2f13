// A path field: a line edit, a browse button, and a completer over recent
// entries. The browse dialog starts in the folder this kind of dialog used
// last (WorkbenchSettings::lastFolder).
#pragma once

#include <QString>
#include <QStringList>
#include <QWidget>

class QLineEdit;
class QCompleter;

namespace droplora::ui {

class PathEdit : public QWidget {
    Q_OBJECT

public:
    enum class Mode { ExistingFolder, OpenFile, AnyFolder };

    // `kind` names the remembered folder ("model", "data", "output", ...).
    PathEdit(Mode mode, const QString& kind, QWidget* parent = nullptr);

    QString path() const;
    // Emits pathChanged() when the path differs from the current one.
    void setPath(const QString& path);
    void setFileFilter(const QString& filter) { m_filter = filter; }
    void setPlaceholderText(const QString& text);
    void setRecent(const QStringList& entries);
    QLineEdit* lineEdit() const { return m_edit; }

signals:
    void pathChanged(const QString& path);

private:
    void browse();
    void commit();

    Mode m_mode;
    QString m_kind;
    QString m_filter;
    QString m_committed;
    QLineEdit* m_edit;
    QCompleter* m_completer = nullptr;
};

}  // namespace droplora::ui
