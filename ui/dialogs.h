// Every message box of the workbench goes through here, so that tests and the
// headless screenshot mode can record messages instead of blocking on a modal
// dialog. Recording mode also prints each message to stderr.
#pragma once

#include <QString>
#include <QStringList>

class QWidget;

namespace droplora::ui {

class Dialogs {
public:
    enum class Kind { Error, Information, Question, Notification };

    struct Record {
        Kind kind = Kind::Information;
        QString title;
        QString text;
    };

    static void error(QWidget* parent, const QString& title, const QString& text);
    static void information(QWidget* parent, const QString& title, const QString& text);
    // Yes/No question; in recording mode answers with the preset answer.
    static bool confirm(QWidget* parent, const QString& title, const QString& question);
    // One of several answers (button texts, the last one the cancel); returns its
    // index. In recording mode the record lists the options and the preset
    // choice (setChoiceAnswer) is returned, else `defaultIndex`.
    static int choose(QWidget* parent, const QString& title, const QString& question, const QStringList& options,
                      int defaultIndex = 0);
    // A desktop notification (a run ended): the system tray's message where the
    // desktop has a tray, and the window's task-bar entry asks for attention
    // (QApplication::alert) either way. Never modal.
    static void notify(QWidget* window, const QString& title, const QString& text);
    // Records a message in recording mode (e.g. what a non-modal window showed); nothing otherwise.
    static void note(Kind kind, const QString& title, const QString& text);

    // Recording mode: no modal dialog is shown; messages are kept instead.
    static void setRecording(bool on, bool confirmAnswer = true);
    static bool isRecording();
    // The answer choose() gives in recording mode; -1: its default.
    static void setChoiceAnswer(int index);
    static QList<Record> records();
    static QString lastError();  // text of the newest error, empty if none
    static void clearRecords();

private:
    static void record(Kind kind, const QString& title, const QString& text);
};

}  // namespace droplora::ui
