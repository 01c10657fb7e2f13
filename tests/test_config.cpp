#include <QtTest/QtTest>
class TestConfig : public QObject { Q_OBJECT private slots: void placeholder() { QVERIFY(true); } };
QTEST_GUILESS_MAIN(TestConfig)
#include "test_config.moc"
